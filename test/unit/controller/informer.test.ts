import { describe, expect, it } from 'vitest';
import { Informer, type ListWatch, type Meta } from '../../../src/controller/scheduling/informer.js';

interface Obj extends Meta {
  metadata: { name: string; namespace: string; resourceVersion: string };
}
const obj = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** A scripted API server: each watch call takes the next script entry. */
function fakeSource(
  lists: Obj[][],
  watches: ((emit: (t: string, o: unknown) => void, done: (e?: unknown) => void) => void)[],
) {
  const calls: string[] = [];
  const source: ListWatch<Obj> = {
    list: async () => {
      calls.push('list');
      const items = lists.shift() ?? [];
      return { items, resourceVersion: String(items.length * 10) };
    },
    watch: async (rv, onEvent, onDone) => {
      calls.push(`watch@${rv}`);
      const script = watches.shift();
      if (script) setTimeout(() => script(onEvent, onDone), 1);
      return { abort: () => undefined };
    },
  };
  return { source, calls };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('Informer', () => {
  it('relists after 410 Gone and still reports every object, including one deleted meanwhile', async () => {
    const changes: string[] = [];
    const { source, calls } = fakeSource(
      [
        [obj('a', '1'), obj('b', '2')],
        [obj('a', '1'), obj('c', '7')],
      ],
      [(emit) => emit('ERROR', { code: 410, message: 'too old resource version' }), () => undefined],
    );
    const informer = new Informer(source, (key, o) => changes.push(`${key}:${o ? 'set' : 'gone'}`), {
      initialBackoffMs: 1,
      maxBackoffMs: 5,
      watchdogMs: 10_000,
    });
    informer.start();
    await until(() => informer.lists === 2 && changes.length === 4);
    await informer.stop();
    expect(calls.slice(0, 3)).toEqual(['list', 'watch@20', 'list']);
    expect(changes).toEqual(['ns/a:set', 'ns/b:set', 'ns/c:set', 'ns/b:gone']);
    expect(
      informer
        .values()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'c']);
  });

  it('resumes a watch that ends normally from the last resourceVersion, without relisting', async () => {
    const { source, calls } = fakeSource(
      [[obj('a', '1')]],
      [
        (emit, done) => {
          emit('MODIFIED', obj('a', '15'));
          emit('BOOKMARK', { metadata: { resourceVersion: '18' } });
          done();
        },
        () => undefined,
      ],
    );
    const informer = new Informer(source, () => undefined, {
      initialBackoffMs: 1,
      maxBackoffMs: 5,
      watchdogMs: 10_000,
    });
    informer.start();
    await until(() => calls.length >= 3);
    await informer.stop();
    expect(calls.slice(0, 3)).toEqual(['list', 'watch@10', 'watch@18']);
    expect(informer.get('ns/a')?.metadata.resourceVersion).toBe('15');
  });

  it('restarts a watch that goes silent past the watchdog, and backs off on errors', async () => {
    const slept: number[] = [];
    const { source, calls } = fakeSource(
      [[obj('a', '1')], [obj('a', '1')]],
      [() => undefined, (_emit, done) => done(new Error('connection reset')), () => undefined],
    );
    const informer = new Informer(source, () => undefined, {
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      watchdogMs: 20,
      sleep: async (ms) => void slept.push(ms),
    });
    informer.start();
    await until(() => calls.filter((c) => c === 'list').length === 2);
    await informer.stop();
    expect(calls.slice(0, 4)).toEqual(['list', 'watch@10', 'watch@10', 'list']);
    expect(slept).toEqual([100]);
  });
});
