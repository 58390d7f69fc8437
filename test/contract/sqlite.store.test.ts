import { after } from 'node:test';
import { SqliteCallStore } from '../../src/storage/sqlite.store.js';
import { tempDataDir } from '../support/harness.js';
import { runStoreContract } from './call-store.contract.js';

runStoreContract({
  name: 'sqlite in memory',
  open: () => new SqliteCallStore({ dataDir: null, synchronous: 'FULL' }),
});

const dirs: Array<{ cleanup(): void }> = [];
const dirOf = new WeakMap<object, string>();
after(() => dirs.forEach((d) => d.cleanup()));

runStoreContract({
  name: 'sqlite on disk',
  open: () => {
    const d = tempDataDir();
    dirs.push(d);
    const s = new SqliteCallStore({ dataDir: d.dir, synchronous: 'FULL' });
    dirOf.set(s, d.dir);
    return s;
  },
  openSibling: (first) => new SqliteCallStore({ dataDir: dirOf.get(first)!, synchronous: 'FULL' }),
  reopen: (store) => {
    const dir = dirOf.get(store)!;
    store.close();
    const s = new SqliteCallStore({ dataDir: dir, synchronous: 'FULL' });
    dirOf.set(s, dir);
    return s;
  },
});
