'use strict';
// autocannon `setupClient` for worker mode (autocannon require()s it inside each worker thread).
// Gives every connection its own call: connection k sends paths[k][0], paths[k][1], paths[k][0], ...
// The index comes from a counter in a SharedArrayBuffer, so it stays unique across several workers.
// Inputs travel in the autocannon options as `benchAssign` (see recording.bench.ts).
const { workerData } = require('node:worker_threads');

module.exports = function setupClient(client) {
  const { paths, next } = workerData.opts.benchAssign;
  const k = Atomics.add(next, 0, 1);
  const own = paths[k];
  if (!own) throw new Error(`bench: connection ${k} has no call assigned (${paths.length} calls)`);
  client.setRequests(own.map((path) => ({ path })));
};
