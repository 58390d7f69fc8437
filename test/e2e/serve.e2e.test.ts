import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { CLIENT_ID, p2pCallBody, tempDataDir, waitFor } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';
import { startServerProcess } from '../support/server-process.js';
import { reservablePort } from '../support/free-port.js';


const stop = (child: ChildProcess, signal: NodeJS.Signals) => new Promise<number | null>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
  child.removeAllListeners('exit');
  child.once('exit', (code) => resolve(code));
  child.kill(signal);
});


describe('graph-calls as a process', () => {
  const data = tempDataDir();
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) await stop(c, 'SIGKILL');
    data.cleanup();
  });

  test('prints the ready line, serves Graph, and survives a crash with nothing accepted lost', async () => {
    // As `npm start` runs it (tsx, the .ts sources); the other processes here run the compiled twin.
    const first = await startServerProcess(['--port', '0', '--data', data.dir, '--answer-delay-ms', '50', '--operation-delay-ms', '1500'], {}, { viaTsx: true });
    children.push(first.child);
    assert.equal(first.lines.filter((l) => l.startsWith('graph-calls listening on')).length, 1);
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const token = await fetchDevToken(first.url);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await (await fetch(`${first.url}/beta/communications/calls`, { method: 'POST', headers: auth, body: JSON.stringify(p2pCallBody()) })).json() as { id: string };
    await waitFor(async () => ((await (await fetch(`${first.url}/beta/communications/calls/${created.id}`, { headers: auth })).json()) as { state: string }).state === 'established', 'established');
    const start = await fetch(`${first.url}/beta/communications/calls/${created.id}/startRecording`, { method: 'POST', headers: auth, body: '{"clientContext":"before-crash"}' });
    assert.equal(start.status, 202);
    const op = (await start.json()) as { id: string; status: string };
    assert.equal(op.status, 'running');

    // Crash: no shutdown hook runs. The 202 promised the change and its notifications were durable.
    await stop(first.child, 'SIGKILL');

    const second = await startServerProcess(['--port', '0', '--data', data.dir, '--answer-delay-ms', '50', '--operation-delay-ms', '1500']);
    children.push(second.child);
    // The signing key survived, so the token issued before the crash is still good.
    const got = await fetch(`${second.url}/beta/communications/calls/${created.id}`, { headers: auth });
    assert.equal(got.status, 200);
    assert.equal(((await got.json()) as { state: string }).state, 'established');
    // The far-side job that completes the running operation resumes after the restart.
    const done = await waitFor(async () => {
      const r = (await (await fetch(`${second.url}/beta/communications/calls/${created.id}/operations/${op.id}`, { headers: auth })).json()) as { status: string; clientContext: string };
      return r.status === 'completed' ? r : null;
    }, 'operation completed after restart', 8000);
    assert.equal(done.clientContext, 'before-crash');
    const stopRes = await fetch(`${second.url}/beta/communications/calls/${created.id}/stopRecording`, { method: 'POST', headers: auth });
    assert.equal(stopRes.status, 202);
    assert.equal(await stop(second.child, 'SIGTERM'), 0, 'a clean shutdown on SIGTERM');

    const engine = new SqliteEngine({ dataDir: data.dir, synchronous: 'FULL' });
    const store = engine.calls;
    try {
      const segs = (await store.listSegments(created.id));
      assert.equal(segs.length, 1);
      assert.ok(segs[0]!.endedAt! > segs[0]!.startedAt);
      // (A 'created' recording notification follows once the stopped segment is rendered; not checked here.)
      const urls = (await store.listOutbox({ callId: created.id, limit: 100 })).filter((n) => n.resourceUrl.startsWith('/communications/calls/')).map((n) => `${n.changeType} ${n.resourceUrl.replace(created.id, 'ID').replace(op.id, 'OP')}`);
      assert.deepEqual(urls, [
        'updated /communications/calls/ID',
        'updated /communications/calls/ID',
        'updated /communications/calls/ID/participants',
        'updated /communications/calls/ID/participants',
        'deleted /communications/calls/ID/operations/OP',
        'updated /communications/calls/ID/participants',
      ]);
    } finally {
      await engine.close();
    }
  });

  test('--in-memory and GRAPH_CALLS_PORT: a throwaway instance on a chosen port', async () => {
    const port = String(await reservablePort());
    const run = await startServerProcess(['--in-memory'], { GRAPH_CALLS_PORT: port });
    children.push(run.child);
    assert.equal(run.url, `http://127.0.0.1:${port}`);
    const info = (await (await fetch(`${run.url}/_emulator/info`)).json()) as { developmentApp: { clientId: string } };
    assert.equal(info.developmentApp.clientId, CLIENT_ID);
  });

  test('a second graph-calls on a data directory in use exits 2, naming the directory and the running instance', async () => {
    const dir = tempDataDir();
    try {
      const first = await startServerProcess(['--port', '0', '--data', dir.dir]);
      children.push(first.child);
      await assert.rejects(startServerProcess(['--port', '0', '--data', dir.dir]), (e: Error) =>
        /exited 2/.test(e.message) && e.message.includes(dir.dir) && e.message.includes(first.url) && e.message.includes(`pid ${first.child.pid}`) && !/\n\s+at /.test(e.message));
      // A SIGKILLed holder leaves no stale lock: the OS drops it with the process.
      await stop(first.child, 'SIGKILL');
      const next = await startServerProcess(['--port', '0', '--data', dir.dir]);
      children.push(next.child);
      assert.equal(await stop(next.child, 'SIGTERM'), 0);
    } finally {
      dir.cleanup();
    }
  });

  test('an unreachable or malformed --db is one clear line and exit status 2', async () => {
    await assert.rejects(startServerProcess(['--port', '0', '--db', 'postgres://root@127.0.0.1:1/graph_calls']), (e: Error) =>
      /exited 2/.test(e.message) && /cannot reach PostgreSQL at root@127\.0\.0\.1:1\/graph_calls/.test(e.message) && !/\n\s+at /.test(e.message));
    await assert.rejects(startServerProcess(['--port', '0', '--db', 'mysql://x']), (e: Error) => /exited 2/.test(e.message) && /--db must be a postgres:\/\//.test(e.message));
  });

  test('a bad flag exits non-zero with every problem listed', async () => {
    await assert.rejects(startServerProcess(['--port', 'x', '--wat']), (e: Error) => /exited 2/.test(e.message) && /--port must be/.test(e.message) && /--wat/.test(e.message));
  });

  test('a --retention that is not a duration is one clear line and exit status 2', async () => {
    await assert.rejects(startServerProcess(['--port', '0', '--in-memory', '--retention', 'a week']), (e: Error) =>
      /exited 2/.test(e.message) && e.message.includes("--retention must be a duration such as 7d, 12h, 30m, 45s or 250ms (a bare number is milliseconds; 0 keeps everything), got 'a week'") && !/\n\s+at /.test(e.message));
  });
});
