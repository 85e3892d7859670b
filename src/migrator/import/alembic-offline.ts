/** One script's SQL in each direction, or why Alembic could not render it. */
export type OfflineSql =
  | { readonly upgrade: string; readonly downgrade: string }
  | { readonly error: string };

/**
 * Renders each script's upgrade() and downgrade() with Alembic's offline mode (what
 * `alembic upgrade --sql` does): an offline MigrationContext for PostgreSQL writes the SQL
 * each op would run, with literal values, into a buffer. One script at a time, so the
 * output is that revision's own SQL, without the version-table statements or a range's
 * other revisions; env.py is not run, so no database URL is needed.
 */
const helper = `
import importlib.util, io, json, sys
try:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
except ImportError:
    sys.exit(3)
out = {}
for index, path in enumerate(json.load(sys.stdin)):
    try:
        spec = importlib.util.spec_from_file_location("revisor_import_%d" % index, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        rendered = {}
        for direction in ("upgrade", "downgrade"):
            buffer = io.StringIO()
            context = MigrationContext.configure(
                dialect_name="postgresql",
                opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
            )
            with Operations.context(context):
                getattr(module, direction)()
            rendered[direction] = buffer.getvalue()
        out[path] = rendered
    except Exception as err:
        out[path] = {"error": "%s: %s" % (type(err).__name__, err)}
json.dump(out, sys.stdout)
`;

/** null when `python` cannot run or has no Alembic: the import then writes markers instead of SQL. */
export async function renderOffline(
  python: string,
  paths: readonly string[],
): Promise<Map<string, OfflineSql> | null> {
  // Loaded when an import runs: the facade that exports it is on every command's way in.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', helper], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', () => resolve(null));
    child.on('close', (code) => {
      if (code === 3 || code === 127) return resolve(null);
      if (code !== 0)
        return reject(new Error(`${python} failed (exit ${code}): ${stderr.trim().slice(-2000)}`));
      resolve(new Map(Object.entries(JSON.parse(stdout) as Record<string, OfflineSql>)));
    });
    child.stdin.end(JSON.stringify(paths));
  });
}
