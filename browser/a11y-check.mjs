#!/usr/bin/env node
// Accessibility check of kencho's resident and staff journeys: headless Chromium
// (playwright-core, the system's /usr/bin/chromium, never a downloaded browser) opens
// every page a resident or a staff member meets and runs axe-core on it, limited to
// the WCAG 2.0/2.1/2.2 level A and AA rules.
//
// It starts nothing itself: scripts/browser-check.sh builds and starts a demo server.
//
//   node a11y-check.mjs <base-url> <server-stdout-log>
//   KENCHO_URL=http://127.0.0.1:8080 KENCHO_LOG=/tmp/kencho.log node a11y-check.mjs
//
// The server log is read for the demo staff accounts' TOTP secrets and the demo password.
// Other settings (environment):
//   CHROMIUM_PATH          browser executable (default /usr/bin/chromium)
//   A11Y_SCREENSHOT_DIR    where full-page screenshots go (default: a fresh temp dir)
//
// Prints one line per page (violation count, label, URL), then the details of every
// violation. Exit status: 0 no violation, 1 violations found, 2 the journey itself broke
// (a page, field or button was missing, a step answered an unexpected status).

import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const BASE = (process.argv[2] || process.env.KENCHO_URL || '').replace(/\/+$/, '');
const LOG = process.argv[3] || process.env.KENCHO_LOG || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!BASE || !LOG) {
  console.error('usage: node a11y-check.mjs <base-url> <server-stdout-log>   (or KENCHO_URL, KENCHO_LOG)');
  process.exit(2);
}
const SHOT_DIR = process.env.A11Y_SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'kencho-a11y-'));
fs.mkdirSync(SHOT_DIR, { recursive: true });

const RESIDENT = 'taro@example.jp';
const KACHO = 'kacho@minamisoma.example.jp';
const ADMIN = 'admin@minamisoma.example.jp';

// ---------------------------------------------------------------- demo accounts from the log

async function readAccounts() {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = fs.existsSync(LOG) ? fs.readFileSync(LOG, 'utf8') : '';
    const staff = {};
    for (const m of text.matchAll(/^\s*staff\s+(\S+)\s+(\S+)\s+(\S+)\s+TOTP secret\s+([A-Z2-7=]+)\s*$/gm)) {
      staff[m[1]] = { role: m[2], tenant: m[3], secret: m[4] };
    }
    const pw = text.match(/password for all:\s*([^)\s]+)\)/);
    if (staff[KACHO] && staff[ADMIN]) return { staff, password: pw ? pw[1] : 'kencho-demo-2026' };
    if (Date.now() > deadline) throw new Error(`no demo staff accounts (${KACHO}, ${ADMIN}) with TOTP secrets in ${LOG}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------- TOTP (RFC 6238: SHA-1, 6 digits, 30 s)

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`bad base32 character ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totpAt(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0x0f;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

// A code is accepted once per step per staff member: never reuse a step for the same
// secret, and keep clear of the step's last seconds so the code is still current on arrival.
const usedSteps = new Map();
async function freshTotp(secret) {
  for (let i = 0; i < 80; i++) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / 30);
    const left = 30 - (now % 30);
    if (step !== usedSteps.get(secret) && left > 3) {
      usedSteps.set(secret, step);
      return totpAt(secret, step);
    }
    await sleep(1000);
  }
  throw new Error('could not get a fresh TOTP step');
}

// ---------------------------------------------------------------- helpers

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

class JourneyError extends Error {}

const results = []; // { label, url, status, violations }
let shotNo = 0;

function url(p) {
  return p.startsWith('http') ? p : BASE + p;
}

async function goto(page, p, expectStatus = 200) {
  const resp = await page.goto(url(p), { waitUntil: 'load' });
  const status = resp ? resp.status() : 0;
  if (expectStatus !== null && status !== expectStatus) {
    throw new JourneyError(`GET ${p}: expected HTTP ${expectStatus}, got ${status}`);
  }
  return status;
}

// Click something that submits a form or follows a link, and wait for the page it leads to.
async function clickAndWait(page, selector, expectStatus = 200) {
  const loc = page.locator(selector);
  if ((await loc.count()) === 0) throw new JourneyError(`${page.url()}: nothing matches ${selector}`);
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), loc.first().click()]);
  const status = resp ? resp.status() : 0;
  if (expectStatus !== null && status !== expectStatus) {
    throw new JourneyError(`${selector} on ${page.url()}: expected HTTP ${expectStatus}, got ${status}`);
  }
  return status;
}

async function fill(page, values) {
  for (const [name, value] of Object.entries(values)) {
    const loc = page.locator(`[name="${name}"]`);
    if ((await loc.count()) === 0) throw new JourneyError(`${page.url()}: no field named ${name}`);
    const first = loc.first();
    const tag = await first.evaluate((el) => el.tagName.toLowerCase() + (el.type ? ':' + el.type : ''));
    if (tag.startsWith('select')) await first.selectOption(value);
    else if (tag === 'input:radio' || tag === 'input:checkbox') await page.locator(`[name="${name}"][value="${value}"]`).check();
    else await first.fill(value);
  }
}

// axe (plus the id-reference check) on the page as it is now.
async function runAxe(page) {
  await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(
    async (tags) => {
      // eslint-disable-next-line no-undef
      const res = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] });
      // axe reports an aria-describedby/-labelledby pointing at a missing id only as "needs
      // review" (the id could appear later); on these server-rendered pages it is a plain bug:
      // the help or error text is never announced. Count it as a violation.
      const broken = [];
      for (const el of document.querySelectorAll('[aria-describedby], [aria-labelledby], [aria-controls], [aria-errormessage], label[for]')) {
        for (const attr of ['aria-describedby', 'aria-labelledby', 'aria-controls', 'aria-errormessage', 'for']) {
          if (attr === 'for' && el.tagName !== 'LABEL') continue;
          const v = el.getAttribute(attr);
          if (v === null) continue;
          const missing = v.split(/\s+/).filter((id) => id && !document.getElementById(id));
          if (missing.length) broken.push({ target: el.id ? `#${el.id}` : el.tagName.toLowerCase(), html: el.outerHTML.slice(0, 300), summary: `${attr} refers to missing id(s): ${missing.join(' ')}` });
        }
      }
      // WCAG 1.4.10 Reflow, which axe does not test: at 320 CSS px nothing may need
      // horizontal scrolling of the page (a table in its own scroll region is fine).
      if (window.innerWidth <= 400 && document.documentElement.scrollWidth > window.innerWidth + 1) {
        const vw = window.innerWidth + 1;
        const sticksOut = (el) => el.getBoundingClientRect().right > vw || (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' && el.getBoundingClientRect().left + el.scrollWidth > vw);
        const wide = [...document.querySelectorAll('body *')].filter((el) => {
          if (el.getBoundingClientRect().width === 0 || !sticksOut(el)) return false;
          for (let a = el.parentElement; a; a = a.parentElement) {
            const ox = getComputedStyle(a).overflowX;
            if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') return false;
          }
          return ![...el.children].some(sticksOut);
        });
        res.violations.push({ id: 'kencho-reflow', impact: 'serious', help: `Content must reflow at ${window.innerWidth} CSS px without horizontal scrolling (page is ${document.documentElement.scrollWidth} px wide)`, helpUrl: 'https://www.w3.org/WAI/WCAG22/Understanding/reflow', tags: ['wcag21aa', 'wcag1410'], nodes: (wide.length ? wide : [document.documentElement]).slice(0, 5).map((el) => ({ target: [el.id ? `#${el.id}` : el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '')], html: el === document.documentElement ? '<html>' : el.outerHTML.slice(0, 300), failureSummary: `content reaches ${Math.round(el.getBoundingClientRect().left + Math.max(el.scrollWidth, el.getBoundingClientRect().width))} px` })) });
      }
      if (broken.length) {
        res.violations.push({ id: 'kencho-idref-missing', impact: 'serious', help: 'ID references (aria-describedby, aria-labelledby, label for, ...) must point at elements on the page', helpUrl: 'https://www.w3.org/WAI/WCAG22/Understanding/info-and-relationships', tags: ['wcag2a', 'wcag131', 'wcag412'], nodes: broken.map((b) => ({ target: [b.target], html: b.html, failureSummary: b.summary })) });
      }
      return {
        incomplete: res.incomplete.map((v) => `${v.id}×${v.nodes.length}`),
        violations: res.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          tags: v.tags.filter((t) => t.startsWith('wcag')),
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
        })),
      };
    },
    AXE_TAGS,
  );
}

// Pages in a PDF Chromium printed: the page tree's /Count.
function pdfPages(buf) {
  const counts = [...buf.toString('latin1').matchAll(/\/Count\s+(\d+)/g)].map((m) => Number(m[1]));
  return counts.length ? Math.max(...counts) : 0;
}

// Run the checks on the page as it is now and record the result.
async function check(page, label, { screenshot = false } = {}) {
  const lang = await page.evaluate(() => document.documentElement.lang);
  const wanted = label.includes('(English)') ? 'en' : label.includes('(やさしい日本語)') ? 'ja-x-easy' : 'ja';
  if (lang !== wanted) throw new JourneyError(`${label}: page language is "${lang}", expected "${wanted}"`);
  const r = await runAxe(page);
  const count = r.violations.reduce((a, v) => a + v.nodes.length, 0);
  results.push({ label, url: page.url(), violations: r.violations, count });
  console.log(`${count === 0 ? 'ok  ' : 'FAIL'} ${String(count).padStart(3)} violation(s)  ${label}  ${page.url()}`);
  // "Needs review": axe could not decide (e.g. contrast over a gradient); not counted as failures.
  if (process.env.A11Y_SHOW_INCOMPLETE && r.incomplete.length) console.log(`       needs review: ${r.incomplete.join(', ')}`);
  if (screenshot) {
    const file = path.join(SHOT_DIR, `${String(++shotNo).padStart(2, '0')}-${label.replace(/[^a-zA-Z0-9]+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }
}

async function newContext(browser) {
  const ctx = await browser.newContext({
    bypassCSP: true, // the app's CSP (script-src 'self') would refuse the injected axe script
    locale: 'ja-JP',
    viewport: { width: 1280, height: 900 },
  });
  ctx.setDefaultTimeout(15_000);
  return ctx;
}

// ---------------------------------------------------------------- journeys

async function staffLogin(page, email, password, secret, labelPrefix, { checkPages }) {
  await goto(page, '/staff/login');
  if (checkPages) await check(page, `${labelPrefix}: staff login`);
  await fill(page, { email, password });
  await clickAndWait(page, 'main form[action="/staff/login"] button[type=submit]');
  if (!page.url().includes('/staff/mfa')) throw new JourneyError(`staff login for ${email} did not lead to /staff/mfa but ${page.url()}`);
  if (checkPages) {
    await check(page, `${labelPrefix}: MFA code`);
    // A wrong code: the page again, with an error message.
    await fill(page, { code: wrongTotp(secret) });
    await clickAndWait(page, 'main form[action="/staff/mfa"] button[type=submit]', null);
    await check(page, `${labelPrefix}: MFA code, wrong code error`);
  }
  await fill(page, { code: await freshTotp(secret) });
  await clickAndWait(page, 'main form[action="/staff/mfa"] button[type=submit]');
  if (!/\/staff(\?|$)/.test(new URL(page.url()).pathname + new URL(page.url()).search)) {
    throw new JourneyError(`MFA for ${email} did not lead to the inbox but ${page.url()}`);
  }
}

// A six-digit code that no nearby step of the secret would accept.
function wrongTotp(secret) {
  const step = Math.floor(Date.now() / 30000);
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, step + d)));
  for (const c of ['000000', '111111', '222222', '333333']) if (!near.has(c)) return c;
  return '444444';
}

const INU_PAGE1 = {
  'f.owner_name.family': '南相馬',
  'f.owner_name.given': '太郎',
  'f.owner_name.family_kana': 'みなみそうま',
  'f.owner_name.given_kana': 'たろう',
  'f.owner_address.postal_code': '975-8686',
  'f.owner_address.prefecture': '福島県',
  'f.owner_address.city': '南相馬市',
  'f.owner_address.street': '原町区本町二丁目27',
  'f.phone': '0244-22-2111',
};
const INU_PAGE2 = {
  'f.dog_name': 'ポチ',
  'f.breed': '柴犬',
  'f.sex': 'male',
  'f.kept_since.year': '2026',
  'f.kept_since.month': '10',
  'f.kept_since.day': '1',
};

async function main() {
  const accounts = await readAccounts();
  const password = accounts.password;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let journeyError = null;
  try {
    // Self-test: axe must report a known violation, or a silent failure would pass everything.
    {
      const ctx = await newContext(browser);
      const p = await ctx.newPage();
      await p.setContent('<!doctype html><html lang="en"><head><title>t</title></head><body><main><img src="data:,"><input type="text">'
        + '<label for="x">X</label><input id="x" type="text" aria-describedby="x-help"></main></body></html>');
      const ids = (await runAxe(p)).violations.map((v) => v.id);
      for (const want of ['image-alt', 'label', 'kencho-idref-missing']) {
        if (!ids.includes(want)) throw new JourneyError(`self-test: expected a ${want} violation, got [${ids}]`);
      }
      console.log(`axe-core ${await p.evaluate(() => axe.version)} self-test ok (finds image-alt, label, kencho-idref-missing)`);
      await ctx.close();
    }
    // ------------------------------------------------ anonymous visitor
    const anonCtx = await newContext(browser);
    const anon = await anonCtx.newPage();
    await goto(anon, '/');
    await check(anon, 'home (catalogue)', { screenshot: true });
    await goto(anon, `/?q=${encodeURIComponent('証明書')}`);
    await check(anon, 'home, search results');
    await goto(anon, `/?q=${encodeURIComponent('存在しない手続きzzz')}`);
    await check(anon, 'home, no search results');
    await goto(anon, '/procedures/minamisoma/inu-toroku');
    await check(anon, 'procedure page, signed out');
    await goto(anon, '/procedures/aizuwakamatsu/juminhyo-shomei');
    await check(anon, 'procedure page with attachments, signed out');
    await goto(anon, '/applications/999999', null);
    await check(anon, 'error page, sign-in required');
    await goto(anon, '/procedures/nowhere/nothing', 404);
    await check(anon, 'error page, unknown procedure (404)');

    // sign-up: error state, then a real sign-up, the verify page from the mailbox link
    await goto(anon, '/signup');
    await check(anon, 'signup');
    await clickAndWait(anon, 'main form[action="/signup"] button[type=submit]', null);
    await check(anon, 'signup, error state');
    const newEmail = `a11y-${Date.now()}@example.jp`;
    await fill(anon, { name: '福島 花子', email: newEmail, password: 'a11y-check-password-2026' });
    await clickAndWait(anon, 'main form[action="/signup"] button[type=submit]');
    await check(anon, 'signup, done (check your mail)');
    await goto(anon, '/demo/mailbox');
    const body = await anon.locator('main').innerText();
    const m = body.match(/https?:\/\/\S*\/verify\?token=[A-Za-z0-9_\-%.~]+/);
    if (!m) throw new JourneyError(`no verification link for ${newEmail} in /demo/mailbox`);
    await goto(anon, new URL(m[0]).pathname + new URL(m[0]).search);
    await check(anon, 'verify e-mail address');
    await clickAndWait(anon, 'main form[action="/verify"] button[type=submit]');
    await check(anon, 'verify, done');

    // 電子交付: the public document verification page, empty, with a result, with an error.
    await goto(anon, '/verify-document');
    await check(anon, 'document verification (empty forms)');
    await fill(anon, { number: 'MNS-通知-2026-000001', sha256: '0'.repeat(64) });
    await clickAndWait(anon, 'main form[action="/verify-document"]:not([enctype]) button[type=submit]');
    await check(anon, 'document verification, result (not genuine)');
    await fill(anon, { number: 'MNS-通知-2026-000001', sha256: 'not-a-hash' });
    await clickAndWait(anon, 'main form[action="/verify-document"]:not([enctype]) button[type=submit]', 400);
    await check(anon, 'document verification, error (400)');

    await goto(anon, '/login');
    await check(anon, 'resident login');
    await fill(anon, { email: RESIDENT, password: 'wrong-password' });
    await clickAndWait(anon, 'main form[action="/login"] button[type=submit]', null);
    await check(anon, 'resident login, error state');
    await goto(anon, '/login?lang=en');
    await check(anon, 'resident login (English)');
    await goto(anon, '/signup');
    await check(anon, 'signup (English)');
    await anonCtx.close();

    // ------------------------------------------------ resident taro: the inu-toroku application
    const resCtx = await newContext(browser);
    const res = await resCtx.newPage();
    await goto(res, '/login');
    await fill(res, { email: RESIDENT, password });
    await clickAndWait(res, 'main form[action="/login"] button[type=submit]');
    await check(res, 'after login (landing page)');
    await goto(res, '/');
    await check(res, 'home, signed in');
    await goto(res, '/procedures/minamisoma/inu-toroku');
    await check(res, 'procedure page, signed in');
    await clickAndWait(res, 'main form[action$="/start"] button[type=submit]');
    const appMatch = res.url().match(/\/applications\/(\d+)\/pages\/1/);
    if (!appMatch) throw new JourneyError(`starting inu-toroku led to ${res.url()}, not /applications/{id}/pages/1`);
    const appId = appMatch[1];
    await check(res, 'form page 1 (empty)');
    await clickAndWait(res, 'main button[name=intent][value=next]', 422);
    await check(res, 'form page 1, error summary (422)', { screenshot: true });
    await fill(res, INU_PAGE1);
    await clickAndWait(res, 'main button[name=intent][value=next]');
    if (!res.url().includes(`/applications/${appId}/pages/2`)) throw new JourneyError(`page 1 did not lead to page 2 but ${res.url()}`);
    await check(res, 'form page 2 (empty)');
    await clickAndWait(res, 'main button[name=intent][value=next]', 422);
    await check(res, 'form page 2, error summary (422)');
    await fill(res, INU_PAGE2);
    await clickAndWait(res, 'main button[name=intent][value=save]');
    await check(res, 'form page 2, saved as draft');
    await clickAndWait(res, 'main button[name=intent][value=next]');
    if (!res.url().includes(`/applications/${appId}/confirm`)) throw new JourneyError(`last page did not lead to the confirmation page but ${res.url()}`);
    await check(res, 'confirmation page', { screenshot: true });
    await clickAndWait(res, 'main form[action$="/submit"] button[type=submit]');
    await check(res, 'done page (receipt number)', { screenshot: true });
    const receipt = (await res.locator('#receipt-number').innerText()).trim();
    await goto(res, '/applications');
    await check(res, 'my applications');
    await goto(res, `/applications/${appId}`);
    await check(res, 'application detail (submitted)');
    await goto(res, '/applications/999999', 404);
    await check(res, 'error page, not found (404)');

    // the procedure with an applicant choice, conditional fields and file fields
    await goto(res, '/procedures/aizuwakamatsu/juminhyo-shomei');
    await check(res, 'procedure page with applicant choice, signed in');
    if ((await res.locator('#kind-agent').count()) > 0) await res.locator('#kind-agent').check();
    await clickAndWait(res, 'main form[action$="/start"] button[type=submit]');
    const jm = res.url().match(/\/applications\/(\d+)\/pages\/1/);
    if (!jm) throw new JourneyError(`starting juminhyo-shomei led to ${res.url()}`);
    const pageCount = Number((await res.locator('.progress').innerText()).match(/(\d+)\s*$/)?.[1] || '1');
    for (let n = 1; n <= pageCount; n++) {
      await goto(res, `/applications/${jm[1]}/pages/${n}`);
      await check(res, `juminhyo-shomei form page ${n}/${pageCount}`, { screenshot: n === pageCount });
    }
    await clickAndWait(res, 'main button[name=intent][value=next]', 422);
    await check(res, `juminhyo-shomei form page ${pageCount}, error summary (422)`);
    await goto(res, `/applications/${jm[1]}/confirm`, null);
    await check(res, 'juminhyo-shomei confirmation page with errors');

    // Every other procedure in the catalogue: its page, each form page empty, the page's
    // error state, and an added row of a repeatable group (covers every field type).
    await goto(res, '/');
    const procHrefs = await res.locator('main .cards a[href^="/procedures/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const href of procHrefs) {
      if (href.endsWith('/inu-toroku') || href.endsWith('/juminhyo-shomei')) continue;
      const code = href.split('/').pop();
      await goto(res, href);
      await check(res, `${code}: procedure page`);
      if ((await res.locator('main form[action$="/start"]').count()) === 0) continue;
      if ((await res.locator('#kind-agent').count()) > 0) await res.locator('#kind-agent').check();
      await clickAndWait(res, 'main form[action$="/start"] button[type=submit]');
      const pm = res.url().match(/\/applications\/(\d+)\/pages\/1/);
      if (!pm) throw new JourneyError(`starting ${code} led to ${res.url()}`);
      const pages = Number((await res.locator('.progress').innerText()).match(/(\d+)\s*$/)?.[1] || '1');
      for (let n = 1; n <= pages; n++) {
        await goto(res, `/applications/${pm[1]}/pages/${n}`);
        await check(res, `${code}: form page ${n}/${pages}`);
        if ((await res.locator('main button[name=add_row]').count()) > 0) {
          await clickAndWait(res, 'main button[name=add_row]', null);
          await check(res, `${code}: form page ${n}/${pages}, row added`);
        }
        await goto(res, `/applications/${pm[1]}/pages/${n}`);
        const st = await clickAndWait(res, 'main button[name=intent][value=next]', null);
        if (st === 422) await check(res, `${code}: form page ${n}/${pages}, error summary (422)`);
      }
    }

    // A phone-sized screen, 320 CSS px wide (reflow, target size).
    await res.setViewportSize({ width: 320, height: 640 });
    for (const [p, label] of [
      ['/', 'home'],
      ['/procedures/aizuwakamatsu/juminhyo-shomei', 'procedure page'],
      [`/applications/${jm[1]}/pages/1`, 'juminhyo-shomei form page 1'],
      [`/applications/${jm[1]}/pages/2`, 'juminhyo-shomei form page 2'],
      [`/applications/${jm[1]}/pages/4`, 'juminhyo-shomei form page 4'],
      [`/applications/${jm[1]}/confirm`, 'juminhyo-shomei confirmation page'],
      [`/applications/${appId}`, 'application detail'],
      ['/applications', 'my applications'],
      ['/demo/mailbox', 'demo mailbox'],
    ]) {
      await goto(res, p);
      await check(res, `${label} (320 px wide)`, { screenshot: p === '/' });
    }
    await goto(res, `/applications/${jm[1]}/pages/4`);
    await clickAndWait(res, 'main button[name=intent][value=next]', 422);
    await check(res, 'juminhyo-shomei form page 4, error summary (320 px wide)', { screenshot: true });
    await res.setViewportSize({ width: 1280, height: 900 });

    // English
    await goto(res, '/?lang=en');
    await check(res, 'home (English)');
    await goto(res, '/procedures/minamisoma/inu-toroku');
    await check(res, 'procedure page (English)');
    await goto(res, `/applications/${jm[1]}/pages/1`);
    await check(res, 'juminhyo-shomei form page 1 (English)');
    await clickAndWait(res, 'main button[name=intent][value=next]', 422);
    await check(res, 'juminhyo-shomei form page 1, error summary (English)');
    await goto(res, `/applications/${appId}`);
    await check(res, 'application detail (English)');
    await goto(res, '/applications');
    await check(res, 'my applications (English)');
    await goto(res, '/?lang=ja');

    // ------------------------------------------------ staff kacho: inbox, case, correction request
    const kCtx = await newContext(browser);
    const k = await kCtx.newPage();
    await staffLogin(k, KACHO, password, accounts.staff[KACHO].secret, 'kacho', { checkPages: true });
    await check(k, 'staff inbox', { screenshot: true });
    await goto(k, '/staff?status=submitted');
    await check(k, 'staff inbox, filtered by status');
    await goto(k, '/staff?overdue=1');
    await check(k, 'staff inbox, overdue only');
    await goto(k, '/staff');
    if ((await k.locator(`main a[href="/staff/applications/${appId}"]`).count()) === 0) {
      throw new JourneyError(`inbox has no link to application ${appId} (${receipt})`);
    }
    await clickAndWait(k, `main a[href="/staff/applications/${appId}"]`);
    await check(k, 'staff case page', { screenshot: true });
    const noActionStatus = await clickAndWait(k, 'main form.case-action button[type=submit]', null);
    await check(k, `staff case action without a choice (HTTP ${noActionStatus})`);
    if ((await k.locator('#act-correct').count()) === 0) await goto(k, `/staff/applications/${appId}`);
    await k.locator('#act-correct').check();
    await k.locator('#message').fill('飼い始めた日をご確認ください。\n登録は飼い始めてから30日以内です。');
    await clickAndWait(k, 'main form.case-action button[type=submit]');
    await check(k, 'staff case page after a correction request');
    await goto(k, '/staff?lang=en');
    await check(k, 'staff inbox (English)');
    await goto(k, `/staff/applications/${appId}`);
    await check(k, 'staff case page (English)');
    await goto(k, '/staff?lang=ja');
    await k.setViewportSize({ width: 320, height: 640 });
    await goto(k, '/staff');
    await check(k, 'staff inbox (320 px wide)');
    await goto(k, `/staff/applications/${appId}`);
    await check(k, 'staff case page (320 px wide)', { screenshot: true });
    await k.setViewportSize({ width: 1280, height: 900 });
    await goto(k, '/staff?lang=ja');

    // ------------------------------------------------ resident sees the correction request
    await goto(res, `/applications/${appId}`);
    await check(res, 'application detail, correction requested', { screenshot: true });
    await goto(res, `/applications/${appId}/pages/1`);
    await check(res, 'form page 1 during correction');
    await goto(res, `/applications/${appId}/confirm`);
    await check(res, 'confirmation page, resubmission');
    await goto(res, '/applications');
    await check(res, 'my applications, correction requested');
    await goto(res, '/demo/mailbox');
    await check(res, 'demo mailbox', { screenshot: true });

    // ------------------------------------------------ staff admin
    const aCtx = await newContext(browser);
    const a = await aCtx.newPage();
    await staffLogin(a, ADMIN, password, accounts.staff[ADMIN].secret, 'admin', { checkPages: false });
    await check(a, 'staff inbox (admin)');
    await goto(a, '/staff/admin');
    await check(a, 'admin page', { screenshot: true });
    await fill(a, { name: 'a11y check token' });
    await clickAndWait(a, 'main form[action="/staff/admin/tokens"] button[type=submit]', null);
    await check(a, 'admin page, new API token shown');
    await clickAndWait(a, 'main form[action="/staff/admin/procedures"] button[type=submit]', null);
    await check(a, 'admin page, import without a file (error)');
    await goto(a, '/staff/admin/fees');
    await check(a, 'fee ordinance and payment agents');
    await clickAndWait(a, 'main form[action="/staff/admin/fees/schedule"] button[type=submit]', 400);
    await check(a, 'fee ordinance, refused document (error)');
    await clickAndWait(a, 'main form[action="/staff/admin/fees/agents"] button[type=submit]', 400);
    await check(a, 'payment agents, refused designation (error)');
    await goto(a, '/staff/admin/certificate');
    await check(a, 'signing certificate (none configured)');
    await clickAndWait(a, 'main form[action="/staff/admin/certificate"] button[type=submit]', 422);
    await check(a, 'signing certificate, PKCS#12 without a file (error)');
    await goto(a, '/staff/admin?lang=en');
    await check(a, 'admin page (English)');
    await goto(a, '/staff/applications/999999', 404);
    await check(a, 'staff error page, not found, 404 (English)');

    // ------------------------------------------------ 電子決裁: the admin (情報政策課長) drafts, the 課長's boxes
    await goto(a, '/staff/approval?lang=ja');
    await check(a, '電子決裁: inbox (未処理)', { screenshot: true });
    await goto(a, '/staff/approval/setup');
    await check(a, '電子決裁: organisation and 専決 table editor');
    await goto(a, '/staff/approval/new');
    await check(a, '電子決裁: new 起案 form', { screenshot: true });
    await fill(a, { title: 'アクセシビリティ検査用 消耗品の購入', body: 'トナーを購入したい。', matter_kind: '物品購入', amount: '50000' });
    await clickAndWait(a, 'main form[action="/staff/approval"] button[type=submit]');
    if (!/\/staff\/approval\/\d+$/.test(new URL(a.url()).pathname)) throw new JourneyError(`drafting led to ${a.url()}`);
    await check(a, '電子決裁: the 起案, draft with its proposed route', { screenshot: true });
    await clickAndWait(a, 'main form[action$="/act"] button[type=submit]', 400);
    await check(a, '電子決裁: act without a choice (400)');
    await a.locator('#act-submit').check();
    await clickAndWait(a, 'main form[action$="/act"] button[type=submit]');
    await check(a, '電子決裁: the 起案 on its route');
    await goto(a, `${new URL(a.url()).pathname}?lang=en`);
    await check(a, '電子決裁: the 起案 (English)');
    await goto(a, '/staff/approval?box=drafting');
    await check(a, '電子決裁: inbox, my drafts (English)');
    await goto(a, '/staff/approval?lang=ja');
    await goto(k, '/staff/approval?box=kouetsu');
    await check(k, '電子決裁: 後閲 box (課長)');
    await goto(k, '/staff/approval?q=トナー');
    await check(k, '電子決裁: search');
    await goto(k, '/staff/approval/absences');
    await check(k, '電子決裁: absences');
    await goto(k, '/staff/approval/records');
    await check(k, '電子決裁: records and disposal list');
    await goto(k, '/staff/approval/figures');
    await check(k, '電子決裁: paperless figures', { screenshot: true });
    await k.setViewportSize({ width: 320, height: 800 });
    await goto(k, '/staff/approval/new');
    await check(k, '電子決裁: new 起案 form (320 px wide)');
    await k.setViewportSize({ width: 1280, height: 900 });

    // ------------------------------------------------ キャッシュレス決済: pay before submission in the sandbox
    await goto(res, '/procedures/minamisoma/inu-kansatsu-saikofu');
    await clickAndWait(res, 'main form[action$="/start"] button[type=submit]');
    const km = res.url().match(/\/applications\/(\d+)\/pages\/1/);
    if (!km) throw new JourneyError(`starting inu-kansatsu-saikofu led to ${res.url()}`);
    await goto(res, `/applications/${km[1]}/payment`);
    await check(res, '決済: payment page (before submission)', { screenshot: true });
    await clickAndWait(res, 'main form[action$="/payment"] button[type=submit]');
    if (!res.url().includes('/sandbox/pay/')) throw new JourneyError(`paying led to ${res.url()}`);
    await check(res, '決済: sandbox checkout (card)', { screenshot: true });
    await fill(res, { card: '4000000000003220' });
    await clickAndWait(res, 'main form button[type=submit]');
    await check(res, '決済: sandbox 3-D Secure step');
    await clickAndWait(res, 'main form button[type=submit]');
    await check(res, '決済: back on the payment page (confirming or paid)');
    await goto(res, `/applications/${km[1]}`);
    await check(res, '決済: application page with what is due and paid');
    await goto(k, '/staff/payments');
    await check(k, '決済: staff payments (totals, reconciliation)', { screenshot: true });

    // ------------------------------------------------ マイ避難: the plan journey, anonymous first
    const hCtx = await newContext(browser);
    const h = await hCtx.newPage();
    await goto(h, '/evacuation');
    await check(h, 'マイ避難: start', { screenshot: true });
    await clickAndWait(h, 'main form[action="/evacuation/minamisoma/start"] button[type=submit]');
    const planMatch = h.url().match(/\/evacuation\/p\/([A-Za-z0-9_-]+)\/where/);
    if (!planMatch) throw new JourneyError(`starting a plan led to ${h.url()}`);
    const planToken = planMatch[1];
    await check(h, 'マイ避難: where (step 1)');
    await clickAndWait(h, 'main form button[type=submit]', 422);
    await check(h, 'マイ避難: where, error summary (422)');
    await h.locator('details.coords summary').click();
    await h.locator('svg.minimap').click({ position: { x: 150, y: 120 } });
    await check(h, 'マイ避難: where, map clicked (JavaScript)');
    await fill(h, { lat: '', lon: '', address: '福島県南相馬市本町一丁目2-3' });
    await clickAndWait(h, 'main form button[type=submit]');
    await check(h, 'マイ避難: home (step 2)');
    await fill(h, { floor: '0' });
    await clickAndWait(h, 'main form button[type=submit]', 422);
    await check(h, 'マイ避難: home, error summary (422)');
    await fill(h, { floor: '1', supply_days: '0', car: 'yes', safe_house: '伯父の家（相馬市）' });
    await clickAndWait(h, 'main form button[type=submit]');
    await check(h, 'マイ避難: people (step 3)');
    await fill(h, { name1: 'お母さん' });
    await clickAndWait(h, 'main button[name=intent][value=add]');
    await check(h, 'マイ避難: people, a row added');
    await fill(h, { name2: 'おじいちゃん', walking2: '1' });
    await clickAndWait(h, 'main button[name=intent][value=next]');
    await check(h, 'マイ避難: the plan', { screenshot: true });
    await fill(h, { stay: 'stay', level1: '5', site: '3' });
    await clickAndWait(h, 'main form[action$="/choices"] button[type=submit]');
    await check(h, 'マイ避難: the plan with unsafe changes (warnings)', { screenshot: true });
    await goto(h, `/evacuation/p/${planToken}/print`);
    await check(h, 'マイ避難: print sheet', { screenshot: true });
    await h.emulateMedia({ media: 'print' });
    await check(h, 'マイ避難: print sheet (print media)', { screenshot: true });
    // The sheet must print on one A4 page (Chromium's own print to PDF).
    const pdf = await h.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    const sheets = pdfPages(pdf);
    if (sheets !== 1) throw new JourneyError(`the print sheet takes ${sheets} A4 pages, not 1`);
    console.log(`print sheet: ${sheets} A4 page (${pdf.length} bytes of PDF)`);
    await h.emulateMedia({ media: null });
    for (const [lang, name] of [['en', 'English'], ['ja-x-easy', 'やさしい日本語']]) {
      await goto(h, `/evacuation/p/${planToken}?lang=${lang}`);
      await check(h, `マイ避難: the plan (${name})`);
      await goto(h, `/evacuation/p/${planToken}/where`);
      await check(h, `マイ避難: where (${name})`);
      await goto(h, `/evacuation/p/${planToken}/people`);
      await check(h, `マイ避難: people (${name})`);
      await goto(h, `/evacuation/p/${planToken}/print`);
      await check(h, `マイ避難: print sheet (${name})`);
      const p2 = await h.pdf({ format: 'A4', preferCSSPageSize: true });
      const n2 = pdfPages(p2);
      if (n2 !== 1) throw new JourneyError(`the ${name} print sheet takes ${n2} A4 pages, not 1`);
    }
    await goto(h, `/evacuation/p/${planToken}?lang=ja`);
    await h.setViewportSize({ width: 320, height: 800 });
    await check(h, 'マイ避難: the plan (320 px wide, mobile)', { screenshot: true });
    await goto(h, `/evacuation/p/${planToken}/where`);
    await check(h, 'マイ避難: where (320 px wide, mobile)');
    await h.setViewportSize({ width: 1280, height: 900 });
    await goto(h, '/evacuation/unsubscribe/not-a-real-token');
    await check(h, 'マイ避難: unsubscribe page');
    await clickAndWait(h, 'main form button[type=submit]', 404);
    await check(h, 'マイ避難: unsubscribe with an unknown link (404)');
    await hCtx.close();

    // ------------------------------------------------ マイ避難: save and subscribe (resident taro)
    await goto(res, '/evacuation');
    await clickAndWait(res, 'main form[action="/evacuation/minamisoma/start"] button[type=submit]');
    await fill(res, { town: '0721250005000' });
    await clickAndWait(res, 'main form button[type=submit]');
    await fill(res, { floor: '2', supply_days: '3', car: 'no' });
    await clickAndWait(res, 'main form button[type=submit]');
    await fill(res, { name1: '太郎', infant1: '1' });
    await clickAndWait(res, 'main button[name=intent][value=next]');
    await clickAndWait(res, 'main form[action$="/save"] button[type=submit]');
    await check(res, 'マイ避難: plan saved');
    await clickAndWait(res, 'main form[action$="/subscribe"] button[type=submit]', 422);
    await check(res, 'マイ避難: subscribe without consent (422)');
    await fill(res, { consent: 'yes' });
    await clickAndWait(res, 'main form[action$="/subscribe"] button[type=submit]');
    await check(res, 'マイ避難: subscribed');
    await goto(res, '/evacuation/mine');
    await check(res, 'マイ避難: my saved plans');

    // ------------------------------------------------ マイ避難: staff (kacho issues, admin approves)
    await goto(k, '/staff/evacuation');
    await check(k, 'マイ避難 staff: alerts, individual plans, data', { screenshot: true });
    await clickAndWait(k, 'main form[action="/staff/evacuation/alerts"] button[type=submit]', 400);
    await check(k, 'マイ避難 staff: issue without level and area (400)');
    await fill(k, { level: '4', note: '架空川の水位が上昇しています（訓練）。' });
    await k.locator('input[name="town"][value="0721250005000"]').check();
    await k.locator('main form[action="/staff/evacuation/alerts"] select[name="hazard"]').selectOption('flood');
    await clickAndWait(k, 'main form[action="/staff/evacuation/alerts"] button[type=submit]');
    await check(k, 'マイ避難 staff: level 4 waiting for approval');
    await clickAndWait(k, 'main form[action="/evacuation/minamisoma/start"] input[name=kind] ~ button[type=submit]');
    await check(k, 'マイ避難 staff: individual plan, where (with person)');
    await fill(k, { person: '真野 ウメ', town: '0721250002000' });
    await clickAndWait(k, 'main form button[type=submit]');
    await fill(k, { floor: '1', supply_days: '0', car: 'no' });
    await clickAndWait(k, 'main form button[type=submit]');
    await fill(k, { name1: 'ウメさん', wheelchair1: '1' });
    await clickAndWait(k, 'main button[name=intent][value=next]');
    await check(k, 'マイ避難 staff: individual plan');
    await clickAndWait(k, 'main a[href^="/staff/evacuation/individual/"]');
    await check(k, 'マイ避難 staff: individual plan, consent and supporters');
    await clickAndWait(k, 'main form[action$="/supporters"] button[type=submit]', 409);
    await check(k, 'マイ避難 staff: supporter before consent (409)');
    await fill(k, { note: '2026-11-29 自宅訪問で本人が同意書に署名', explained: 'yes' });
    await clickAndWait(k, 'main form[action$="/consent"] button[type=submit]');
    await fill(k, { name: '民生委員 相馬', email: 'minsei@example.jp', supporter_consent: 'yes' });
    // The supporter's address and phone (災害対策基本法 49条の14第3項), in the supporter form.
    const sup = k.locator('main form[action$="/supporters"]');
    await sup.locator('[name="address"]').fill('南相馬市原町区本町一丁目1');
    await sup.locator('[name="phone"]').fill('0244-00-0000');
    await clickAndWait(k, 'main form[action$="/supporters"] button[type=submit]');
    await check(k, 'マイ避難 staff: supporter added');
    await goto(k, '/staff/evacuation?lang=en');
    await check(k, 'マイ避難 staff page (English)');
    await goto(k, '/staff/evacuation?lang=ja');
    await goto(a, '/staff/evacuation?lang=ja');
    await check(a, 'マイ避難 staff (admin): approve, layers, JMA');
    await clickAndWait(a, 'main form[action$="/approve"] button[type=submit]');
    await check(a, 'マイ避難 staff (admin): level 4 approved and sent');
    await clickAndWait(a, 'main form[action="/staff/evacuation/layers"] button[type=submit]', 400);
    await check(a, 'マイ避難 staff (admin): layer upload without a file (400)');
    await goto(res, '/demo/mailbox');
    await check(res, 'demo mailbox with an evacuation alert');

    // ------------------------------------------------ IoT alerts: staff pages, a trap firing, the hunter's link
    await goto(a, '/staff/iot/devices?lang=ja');
    await check(a, 'IoT: devices and watched people', { screenshot: true });
    await clickAndWait(a, 'main form[action="/staff/iot/people"] button[type=submit]', 400);
    await check(a, 'IoT: register a person without answers (400)');
    await goto(a, '/staff/iot/devices');
    await clickAndWait(a, 'main a[href^="/staff/iot/people/"]');
    await check(a, 'IoT: watched person (opening is audited)');
    await goto(a, '/staff/admin');
    await fill(a, { name: 'a11y LNS webhook' });
    await clickAndWait(a, 'main form[action="/staff/admin/tokens"] button[type=submit]', null);
    const lnsToken = (await a.locator('#new-token').textContent()).trim();
    const fired = await a.request.post(url('/api/v1/iot/uplink'), {
      headers: { Authorization: `Bearer ${lnsToken}`, 'content-type': 'application/json' },
      data: JSON.stringify({ dev_eui: '70B3D5FFFE000001', event: 'fired', battery: 80, f_cnt: 1 }),
    });
    if (fired.status() !== 200) throw new JourneyError(`webhook uplink answered ${fired.status()}`);
    await goto(k, '/staff/iot');
    await check(k, 'IoT: alarms', { screenshot: true });
    await goto(k, '/staff/iot?kind=trap_fired&state=active');
    await check(k, 'IoT: alarms, filtered');
    await goto(k, '/staff/iot?lang=en');
    await check(k, 'IoT: alarms (English)');
    await goto(k, '/staff/iot?lang=ja');
    let ackPath = null;
    for (let i = 0; i < 50 && !ackPath; i++) {
      await goto(k, '/demo/mailbox');
      const m = (await k.content()).match(/\/iot\/ack\/[A-Za-z0-9_-]+\?c=\d+/);
      if (m) ackPath = m[0];
      else await sleep(200);
    }
    if (!ackPath) throw new JourneyError('no trap alarm mail with an acknowledgement link in the demo mailbox');
    const hunterCtx = await newContext(browser);
    const hunter = await hunterCtx.newPage();
    await goto(hunter, ackPath);
    await check(hunter, 'IoT: hunter acknowledgement link', { screenshot: true });
    await clickAndWait(hunter, 'main form[action^="/iot/ack/"]:not([action$="/capture"]) button[type=submit]');
    await check(hunter, 'IoT: acknowledged, capture form');
    // The capture time as the hunter states it (JST, now: after the firing, not in the future).
    const hhmm = new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(11, 16);
    await fill(hunter, { outcome: 'caught', species: 'イノシシ', count: '1', time: hhmm });
    await clickAndWait(hunter, 'main form[action$="/capture"] button[type=submit]');
    await check(hunter, 'IoT: capture recorded');
    await hunterCtx.close();
    await goto(k, '/staff/iot/captures');
    await check(k, 'IoT: captures (table and chart)', { screenshot: true });

    await aCtx.close();
    await kCtx.close();
    await resCtx.close();
  } catch (e) {
    journeyError = e;
  } finally {
    await browser.close();
  }

  // ---------------------------------------------------------------- report
  const failing = results.filter((r) => r.count > 0);
  if (failing.length) {
    console.log('\nViolations:');
    for (const r of failing) {
      console.log(`\n== ${r.label}  ${r.url}`);
      for (const v of r.violations) {
        console.log(`  [${v.impact}] ${v.id} (${v.tags.join(', ')}): ${v.help}\n    ${v.helpUrl}`);
        for (const n of v.nodes) {
          console.log(`    - ${n.target}\n      ${n.html.slice(0, 300)}`);
          if (n.summary) console.log('      ' + n.summary.split('\n').join('\n      '));
        }
      }
    }
  }
  const total = results.reduce((a, r) => a + r.count, 0);
  console.log(`\n${results.length} pages checked, ${failing.length} with violations, ${total} violation(s) in all (axe-core, tags ${AXE_TAGS.join(' ')}).`);
  console.log(`Screenshots: ${SHOT_DIR}`);
  if (journeyError) {
    console.error(`\nJOURNEY BROKE: ${journeyError.stack || journeyError}`);
    process.exit(2);
  }
  process.exit(total > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(2);
});
