import { describe, expect, it } from 'vitest';
import { revisorProject, runCli, sqlMigration } from '../support/cli.js';
import { connect, createTestDatabase, versionRows } from '../support/db.js';
import { dropEmailModule } from '../support/fixtures.js';

const base = sqlMigration(
  'base0001',
  null,
  `CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, email text, nickname text);
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE invoices (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), amount int);
INSERT INTO users (name, email, nickname) SELECT 'u' || g, 'u' || g || '@example.com', 'nick' || g FROM generate_series(1, 500) g;
INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 50) g;
INSERT INTO invoices SELECT g, 1 + g % 50, g * 10 FROM generate_series(1, 200) g;`,
  'DROP TABLE invoices; DROP TABLE customers; DROP TABLE users;',
);

const dropCustomers = `import { column, defineMigration, primaryKey, sa } from 'revisor';

export default defineMigration({
  revision: 'drop0003',
  downRevision: 'drop0002',
  message: 'drop customers, and the foreign key on it with it',
  upgrade(op) {
    op.dropTable('customers', { cascade: true });
  },
  downgrade(op) {
    op.createTable('customers', column('id', sa.Integer(), { nullable: false, serverDefault: undefined }), column('name', sa.Text(), { nullable: false }), primaryKey(['id'], { name: 'customers_pkey' }));
  },
});
`;

const dropNickname = sqlMigration(
  'drop0004',
  'drop0003',
  'ALTER TABLE users DROP COLUMN nickname;',
  'ALTER TABLE users ADD COLUMN nickname text;',
).replace('-- migrate:upgrade', '-- destroys: column users.nickname\n-- migrate:upgrade');

type Db = Awaited<ReturnType<typeof connect>>;
const one = async (db: Db, sql: string) => (await db.query(sql)).rows[0];

describe('the stash: lossless downgrades', () => {
  it('a dropped column, a dropped table with a foreign key on it, and a column raw SQL declares: all back after the downgrade', async () => {
    const url = await createTestDatabase();
    const env = {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: await revisorProject({
        '1.sql': base,
        '2.ts': dropEmailModule,
        '3.ts': dropCustomers,
        '4.sql': dropNickname,
      }),
    };
    const db = await connect(url);
    expect((await runCli(['upgrade', 'base0001'], env)).code).toBe(0);
    const before = {
      users: (await db.query('SELECT id, name, email, nickname FROM users ORDER BY id')).rows,
      customers: (await db.query('SELECT * FROM customers ORDER BY id')).rows,
    };
    const up = await runCli(['upgrade', 'head'], env);
    expect(up.code, up.stderr).toBe(0);
    expect(await one(db, "SELECT to_regclass('customers') AS t")).toEqual({ t: null });
    const listed = await runCli(['stash', 'list'], env);
    expect(listed.stdout).toContain('drop0002  column public.users.email');
    expect(listed.stdout).toContain('drop0003  table public.customers');
    expect(listed.stdout).toContain('drop0004  column public.users.nickname');

    const down = await runCli(['downgrade', 'base0001'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(await versionRows(db)).toEqual(['base0001']);
    expect((await db.query('SELECT id, name, email, nickname FROM users ORDER BY id')).rows).toEqual(
      before.users,
    );
    expect((await db.query('SELECT * FROM customers ORDER BY id')).rows).toEqual(before.customers);
    // The foreign key the cascade dropped is back, and the serial continues after the restored ids.
    expect(
      await one(
        db,
        "SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'invoices_customer_id_fkey'",
      ),
    ).toEqual({ n: 1 });
    await db.query("INSERT INTO users (name) VALUES ('new')");
    expect((await runCli(['stash', 'list'], env)).stdout).toContain('the stash is empty');
    await db.end();
  });

  it('--no-stash keeps nothing: the column comes back empty; stash drop forgets a revision', async () => {
    const url = await createTestDatabase();
    const env = {
      DATABASE_URL: url,
      REVISOR_MIGRATIONS: await revisorProject({ '1.sql': base, '2.ts': dropEmailModule }),
    };
    const db = await connect(url);
    expect((await runCli(['upgrade', 'head', '--no-stash'], env)).code).toBe(0);
    expect((await runCli(['stash', 'list'], env)).stdout).toContain('the stash is empty');
    expect((await runCli(['downgrade', 'base0001'], env)).code).toBe(0);
    expect(await one(db, 'SELECT count(email)::int AS n FROM users')).toEqual({ n: 0 });

    await db.query("UPDATE users SET email = 'x'");
    expect((await runCli(['upgrade', 'head'], env)).code).toBe(0);
    const dropped = await runCli(['stash', 'drop', 'drop0002'], env);
    expect(dropped.stdout).toContain('dropped 1 stash entry of drop0002');
    expect((await runCli(['downgrade', 'base0001'], env)).code).toBe(0);
    expect(await one(db, 'SELECT count(email)::int AS n FROM users')).toEqual({ n: 0 });
    await db.end();
  });
});
