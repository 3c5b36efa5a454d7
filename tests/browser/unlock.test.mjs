// The unlock page in a real browser: a secure message sent through the local stack's API,
// its link taken from the SMS the AWS emulator recorded, opened in Debian's Chromium; each
// page state checked with axe-core and saved as a screenshot in tests/artifacts/browser/,
// in English (Ava Smith) and in French (John Smith, French-speaking in the demo EMR data).
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
// Each language's patient and what its pages say.
const PATIENTS = {
  en: {
    appointment: 'a-ava-upcoming',
    phone: '+16045550123',
    rightPhn: '9698 658 215',
    wrongPhn: '9890608412',
    heading: /secure message from Harbourview Family Clinic/,
    greeting: 'Hello Ava Smith',
    label: 'Personal Health Number (PHN)',
    open: 'Open message',
    wrong: 'does not match',
    triesLeft: /4 tries left/,
    locked: 'This message is locked',
    notValid: 'This link is not valid',
    replaced: 'This link was replaced by a newer link',
    withdrawn: 'This message was withdrawn by the clinic',
    other: 'Français',
  },
  fr: {
    appointment: 'a-john1-upcoming',
    phone: '+16045550124',
    rightPhn: '9890 608 412',
    wrongPhn: '9698658215',
    heading: /Un message sécurisé de Harbourview Family Clinic/,
    greeting: 'Bonjour John Smith',
    label: "Numéro d'assurance maladie personnel (PHN)",
    open: 'Ouvrir le message',
    wrong: 'ne correspond pas',
    triesLeft: /Il vous reste 4 essais/,
    locked: 'Ce message est verrouillé',
    notValid: "Ce lien n'est pas valide",
    replaced: 'Ce lien a été remplacé par un lien plus récent',
    withdrawn: 'Ce message a été retiré par la clinique',
    other: 'English',
  },
};
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
async function sendSecureMessage(patient) {
  const ticket = await call('POST', '/attachments', { content_type: 'application/pdf', size: fileBytes.length });
  const upload = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: fileBytes });
  assert.ok(upload.ok, `upload: ${upload.status}`);
  const before = (await publishedLinks(patient.phone)).length;
  const sent = await call(
    'POST',
    `/appointments/${patient.appointment}/messages`,
    { kind: 'secure', template_id: 'results-ready', attachments: [{ id: ticket.attachment_id, file_name: 'requisition.pdf' }] },
    { 'idempotency-key': randomUUID() },
  );
  const links = await publishedLinks(patient.phone);
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

/** Unlock links in the SMS the emulator recorded for `phone`, oldest first. */
async function publishedLinks(phone) {
  const recording = await (await fetch(`${emulator}/moto-api/recorder/download-recording`)).text();
  const links = [];
  for (const line of recording.split('\n').filter(Boolean)) {
    const request = JSON.parse(line);
    let body = request.body ?? '';
    if (request.body_encoded) body = Buffer.from(body, 'base64').toString('utf8');
    const fields = body.trim().startsWith('{') ? jsonOrNothing(body) : Object.fromEntries(new URLSearchParams(body));
    if ((fields.Action === 'Publish' || fields.PhoneNumber) && fields.PhoneNumber === phone) {
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

for (const [lang, patient] of Object.entries(PATIENTS)) {
  test(`a patient opens a secure message with their PHN and downloads its file (${lang})`, async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    const { link } = await sendSecureMessage(patient);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const shot = (n, state) => `${lang}-${n}-${state}`;
    try {
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      const first = await page.goto(link);
      assert.equal(first.status(), 200);
      assert.equal(first.headers()['referrer-policy'], 'no-referrer');
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      await page.getByRole('heading', { name: patient.heading }).waitFor();
      assert.equal(await page.getByText(patient.greeting).count(), 0, 'no health information before the PHN');
      await checkAccessibility(page, shot(1, 'phn-form'));

      await page.getByLabel(patient.label).fill(patient.wrongPhn);
      await page.getByRole('button', { name: patient.open }).click();
      await page.getByRole('alert').filter({ hasText: patient.wrong }).waitFor();
      assert.match(await page.textContent('main'), patient.triesLeft);
      await checkAccessibility(page, shot(2, 'wrong-phn'));

      await page.getByLabel(patient.label).fill(patient.rightPhn);
      await page.getByRole('button', { name: patient.open }).click();
      await page.getByText(patient.greeting).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      await checkAccessibility(page, shot(3, 'opened'));

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'requisition.pdf' }).click()]);
      assert.equal(download.suggestedFilename(), 'requisition.pdf');
      const saved = path.join(artifacts, `${lang}-downloaded-requisition.pdf`);
      await download.saveAs(saved);
      assert.deepEqual(fs.readFileSync(saved), fileBytes);

      // The switch to the other language: a link, for this page view only.
      await page.goto(link);
      await page.getByRole('link', { name: patient.other }).click();
      const otherLang = lang === 'en' ? 'fr' : 'en';
      assert.equal(await page.getAttribute('html', 'lang'), otherLang);
      await page.getByRole('heading', { name: PATIENTS[otherLang].heading }).waitFor();
      await checkAccessibility(page, shot(4, 'switched'));

      const { link: locked } = await sendSecureMessage(patient);
      for (let n = 0; n < 5; n++) {
        await fetch(locked, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `phn=${patient.wrongPhn}` });
      }
      const lockedPage = await page.goto(locked);
      assert.equal(lockedPage.status(), 423);
      await page.getByRole('heading', { name: patient.locked }).waitFor();
      await checkAccessibility(page, shot(5, 'locked'));

      // A link not valid names no message: the switch's language, else English.
      const invalid = await page.goto(link.replace(/\/m\/.*/, `/m/not-a-real-link?lang=${lang}`));
      assert.equal(invalid.status(), 404);
      await page.getByRole('heading', { name: patient.notValid }).waitFor();
      await checkAccessibility(page, shot(6, 'link-not-valid'));

      const resent = await sendSecureMessage(patient);
      await call('POST', `/messages/${resent.messageId}/resend`, undefined, { 'idempotency-key': randomUUID() });
      const replacedPage = await page.goto(resent.link);
      assert.equal(replacedPage.status(), 410);
      await page.getByRole('heading', { name: patient.replaced }).waitFor();
      await checkAccessibility(page, shot(7, 'link-replaced'));

      const newest = (await publishedLinks(patient.phone)).at(-1);
      await call('POST', `/messages/${resent.messageId}/withdraw`);
      const withdrawnPage = await page.goto(newest);
      assert.equal(withdrawnPage.status(), 410);
      await page.getByRole('heading', { name: patient.withdrawn }).waitFor();
      await checkAccessibility(page, shot(8, 'withdrawn'));
    } finally {
      await browser.close();
    }
  });
}
