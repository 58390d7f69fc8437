import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { p2pCallBody, startServer, type ServerHarness } from '../support/harness.js';
import { api, createCall, waitForState } from '../support/graph-http.js';

const CHROMIUM = '/usr/bin/chromium';

// Debian's chromium (installed by .ci/run); never a downloaded browser.
describe('the dashboard in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let h: ServerHarness;
  let browser: Browser;
  before(async () => {
    h = await startServer({ answerDelayMs: 50, operationDelayMs: 50 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-quic', '--autoplay-policy=no-user-gesture-required'],
      // launch() always starts from a fresh, temporary user-data directory.
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('a call appears live, its recording plays, its timeline shows what happened', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const failed: string[] = [];
    page.on('requestfailed', (r) => { if (!r.url().includes('/_emulator/events')) failed.push(r.url()); });
    page.on('request', (r) => { if (!r.url().startsWith(h.url)) failed.push(`external: ${r.url()}`); });
    await page.goto(`${h.url}/_emulator/ui`);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    assert.equal(await page.isVisible('#no-calls'), true);

    const call = await createCall(h, p2pCallBody());
    await waitForState(h, call.id, 'established');
    // It appears without a reload: the page follows the server-sent events.
    await page.waitForSelector(`tr.call[data-id="${call.id}"] .state.established`, { timeout: 10_000 });

    const [, alice] = (await api(h, 'GET', `/beta/communications/calls/${call.id}/participants`)).body.value;
    await api(h, 'POST', `/_emulator/calls/${call.id}/participants/${alice.id}/audio`, { type: 'tone', frequencyHz: 440 }, { auth: false });
    assert.equal((await api(h, 'POST', `/beta/communications/calls/${call.id}/startRecording`, {})).status, 202);
    await page.waitForSelector(`tr.call[data-id="${call.id}"] .rec`, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await api(h, 'POST', `/beta/communications/calls/${call.id}/stopRecording`, {})).status, 202);

    await page.click(`tr.call[data-id="${call.id}"]`);
    await page.waitForSelector('.recording audio', { timeout: 10_000 });
    const played = await page.evaluate(async () => {
      const audio = document.querySelector<HTMLAudioElement>('.recording audio')!;
      await audio.play();
      await new Promise((r) => setTimeout(r, 400));
      return { currentTime: audio.currentTime, duration: audio.duration };
    });
    assert.ok(played.currentTime > 0, `the recording plays (currentTime ${played.currentTime})`);
    assert.ok(played.duration > 1 && played.duration < 3, `duration ${played.duration}`);
    const waveform = await page.evaluate(() => {
      const img = document.querySelector<HTMLImageElement>('.recording img');
      return img ? img.complete && img.naturalWidth > 0 : false;
    });
    assert.ok(waveform, 'the waveform picture loads');
    const timeline = await page.textContent('ol.timeline');
    assert.match(timeline ?? '', /POST …\/startRecording → 202/);
    assert.match(timeline ?? '', /operation\s+startRecordingOperation/);
    assert.match(timeline ?? '', /→ established/);
    assert.match(timeline ?? '', /delivery #1/);

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });
    assert.deepEqual(failed, [], 'no failed or external requests');
    await page.close();
  });
});
