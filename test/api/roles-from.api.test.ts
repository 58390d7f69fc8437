import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, DEV_APP } from '../support/harness.js';
import { call } from '../support/inject.js';

/** `--roles-from`: whether a role removed from an app is lost at once (registry, default) or at token expiry (token, as on Entra). */
for (const rolesFrom of ['registry', 'token'] as const) {
  test(`--roles-from ${rolesFrom}: a recording role removed through the control plane`, async () => {
    const h = await buildHarness({ rolesFrom });
    try {
      const list = `/beta/users/5810cede-f3cc-42eb-b2c1-e9bd5d53ec96/onlineMeetings/getAllRecordings()`;
      assert.equal((await call(h, 'GET', list)).status, 200);
      const without = DEV_APP.roles.filter((r) => r !== 'OnlineMeetingRecording.Read.All');
      const put = await call(h, 'POST', '/_emulator/apps', { auth: false, body: { ...DEV_APP, roles: without } });
      assert.equal(put.status, 201, put.raw);
      const after = await call(h, 'GET', list);
      if (rolesFrom === 'registry') {
        assert.equal(after.status, 403);
        assert.equal(after.body.error.code, 'accessDenied');
        assert.match(after.body.error.message, /OnlineMeetingRecording\.Read\.All/);
      } else {
        assert.equal(after.status, 200, 'the token still carries the role');
      }
      // Roles the token never had are not granted by the registry either way.
      assert.equal((await call(h, 'POST', '/_emulator/apps', { auth: false, body: { ...DEV_APP } })).status, 201);
      assert.equal((await call(h, 'GET', list)).status, 200);
    } finally {
      await h.close();
    }
  });
}
