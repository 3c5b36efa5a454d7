// The unlock page in a real browser: a secure message sent through the local stack's API,
// its link taken from the SMS the AWS emulator recorded, opened in Debian's Chromium; each
// page state checked with axe-core and saved as a screenshot in tests/artifacts/browser/.
// Started by tests/browser/run, which brings the local stack up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const api = process.env.LOCAL_API;
const token = process.env.LOCAL_API_TOKEN;
const emulator = process.env.AWS_ENDPOINT_URL;
const artifacts = process.env.ARTIFACTS;
const patientPhone = '+16045550123';
const rightPhn = '9698 658 215';
const wrongPhn = '9890608412';
const fileBytes = Buffer.from('%PDF-1.7 browser test requisition');

async function call(method, route, body, headers = {}) {
  const response = await fetch(api + route, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Sends a secure message with one uploaded PDF; its id and the unlock link from its SMS. */
async function sendSecureMessage() {
  const ticket = await call('POST', '/attachments', { content_type: 'application/pdf', size: fileBytes.length });
  const upload = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: fileBytes });
  assert.ok(upload.ok, `upload: ${upload.status}`);
  const before = (await publishedLinks()).length;
  const sent = await call(
    'POST',
    '/appointments/a-ava-upcoming/messages',
    { kind: 'secure', template_id: 'results-ready', attachments: [{ id: ticket.attachment_id, file_name: 'requisition.pdf' }] },
    { 'idempotency-key': randomUUID() },
  );
  const links = await publishedLinks();
  assert.equal(links.length, before + 1, 'one SMS with an unlock link');
  return { messageId: sent.message_id, link: links.at(-1) };
}

/** A JSON request body; nothing for another (an NDJSON file, say): no SMS is in it. */
function jsonOrNothing(body) {
  try {
    return JSON.parse(body);
  } catch {
    return {};
  }
}

/** Unlock links in the SMS the emulator recorded for the patient, oldest first. */
async function publishedLinks() {
  const recording = await (await fetch(`${emulator}/moto-api/recorder/download-recording`)).text();
  const links = [];
  for (const line of recording.split('\n').filter(Boolean)) {
    const request = JSON.parse(line);
    let body = request.body ?? '';
    if (request.body_encoded) body = Buffer.from(body, 'base64').toString('utf8');
    const fields = body.trim().startsWith('{') ? jsonOrNothing(body) : Object.fromEntries(new URLSearchParams(body));
    if ((fields.Action === 'Publish' || fields.PhoneNumber) && fields.PhoneNumber === patientPhone) {
      const link = (fields.Message ?? '').match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]+/);
      if (link) links.push(link[0]);
    }
  }
  return links;
}

async function checkAccessibility(page, state) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run());
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help}`), [], `${state}: serious accessibility violations`);
  await page.screenshot({ path: path.join(artifacts, `${state}.png`), fullPage: true });
}

test('a patient opens a secure message with their PHN and downloads its file', async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const { link } = await sendSecureMessage();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const first = await page.goto(link);
    assert.equal(first.status(), 200);
    assert.equal(first.headers()['referrer-policy'], 'no-referrer');
    await page.getByRole('heading', { name: /secure message from Harbourview Family Clinic/ }).waitFor();
    assert.equal(await page.getByText('Hello Ava').count(), 0, 'no health information before the PHN');
    await checkAccessibility(page, '1-phn-form');

    await page.getByLabel('Personal Health Number (PHN)').fill(wrongPhn);
    await page.getByRole('button', { name: 'Open message' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not match' }).waitFor();
    assert.match(await page.textContent('main'), /4 tries left/);
    await checkAccessibility(page, '2-wrong-phn');

    await page.getByLabel('Personal Health Number (PHN)').fill(rightPhn);
    await page.getByRole('button', { name: 'Open message' }).click();
    await page.getByText('Hello Ava Smith').waitFor();
    await checkAccessibility(page, '3-opened');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'requisition.pdf' }).click()]);
    assert.equal(download.suggestedFilename(), 'requisition.pdf');
    const saved = path.join(artifacts, 'downloaded-requisition.pdf');
    await download.saveAs(saved);
    assert.deepEqual(fs.readFileSync(saved), fileBytes);

    const { link: locked } = await sendSecureMessage();
    for (let n = 0; n < 5; n++) {
      await fetch(locked, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `phn=${wrongPhn}` });
    }
    const lockedPage = await page.goto(locked);
    assert.equal(lockedPage.status(), 423);
    await page.getByRole('heading', { name: 'This message is locked' }).waitFor();
    await checkAccessibility(page, '4-locked');

    const invalid = await page.goto(link.replace(/\/m\/.*/, '/m/not-a-real-link'));
    assert.equal(invalid.status(), 404);
    await checkAccessibility(page, '5-link-not-valid');

    const resent = await sendSecureMessage();
    await call('POST', `/messages/${resent.messageId}/resend`, undefined, { 'idempotency-key': randomUUID() });
    const replacedPage = await page.goto(resent.link);
    assert.equal(replacedPage.status(), 410);
    await page.getByRole('heading', { name: 'This link was replaced by a newer link' }).waitFor();
    await checkAccessibility(page, '6-link-replaced');

    const newest = (await publishedLinks()).at(-1);
    await call('POST', `/messages/${resent.messageId}/withdraw`);
    const withdrawnPage = await page.goto(newest);
    assert.equal(withdrawnPage.status(), 410);
    await page.getByRole('heading', { name: 'This message was withdrawn by the clinic' }).waitFor();
    await checkAccessibility(page, '7-withdrawn');
  } finally {
    await browser.close();
  }
});
