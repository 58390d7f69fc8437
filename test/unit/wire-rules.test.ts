import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callbackUriProblem, isLoopbackHost } from '../../src/domain/callback-uri.js';
import { rewriteGraphUrl } from '../../src/app.js';
import { RouteTrie } from '../../src/graph/route-trie.js';

test('callbackUri: https anywhere, http only on loopback', () => {
  assert.equal(callbackUriProblem('https://bot.example.com/api/calls'), null);
  assert.equal(callbackUriProblem('http://127.0.0.1:3978/api/calls'), null);
  assert.equal(callbackUriProblem('http://localhost/cb'), null);
  assert.equal(callbackUriProblem('http://[::1]:8080/cb'), null);
  assert.match(callbackUriProblem('http://bot.example.com/cb')!, /https is required/);
  assert.match(callbackUriProblem('ftp://127.0.0.1/cb')!, /scheme/);
  assert.match(callbackUriProblem('/relative')!, /not an absolute URL/);
  assert.ok(isLoopbackHost('127.8.9.10'));
  assert.ok(!isLoopbackHost('10.0.0.1'));
});

test('namespace-qualified and /app alias paths are rewritten, queries kept', () => {
  assert.equal(rewriteGraphUrl('/beta/communications/calls/a/microsoft.graph.StopRecording'), '/beta/communications/calls/a/StopRecording');
  assert.equal(rewriteGraphUrl('/beta/communications/calls/a/Microsoft.Graph.startRecording?x=1'), '/beta/communications/calls/a/startRecording?x=1');
  assert.equal(rewriteGraphUrl('/beta/app/calls/a'), '/beta/communications/calls/a');
  assert.equal(rewriteGraphUrl('/v1.0/app/calls/a'), '/v1.0/app/calls/a');
  assert.equal(rewriteGraphUrl('/beta/communications/calls?$filter=microsoft.graph.x'), '/beta/communications/calls?$filter=microsoft.graph.x');
});

test('route trie names the first unknown segment and spots a wrong method', () => {
  const t = new RouteTrie();
  t.add('/v1.0/communications/calls', ['POST']);
  t.add('/v1.0/communications/calls/:id', ['GET', 'DELETE']);
  t.add('/v1.0/communications/calls/:id/updateRecordingStatus', ['POST']);
  assert.deepEqual(t.explain('/v1.0/communications/calls/abc/stopRecording', 'POST'), { kind: 'segment', segment: 'stopRecording', index: 4 });
  assert.deepEqual(t.explain('/v1.0/communicationz/calls', 'GET'), { kind: 'segment', segment: 'communicationz', index: 1 });
  assert.deepEqual(t.explain('/v1.0/communications/calls/abc', 'PATCH'), { kind: 'method' });
  assert.deepEqual(t.explain('/v1.0/COMMUNICATIONS/Calls/abc/UpdateRecordingStatus', 'POST'), { kind: 'none' });
  assert.deepEqual(t.explain('/v1.0/communications', 'GET'), { kind: 'segment', segment: 'communications', index: 1 });
});
