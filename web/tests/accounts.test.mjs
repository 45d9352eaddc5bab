// Accounts in the browser: the first admin sets a password from the setup
// link, invites a facilitator; she creates her account from the link, signs
// in, creates a room and runs it, leaves; later, from a new browser context,
// she signs in again and runs the same room as facilitator (a fresh key
// through "My rooms").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  browserSuite, tid, within, webDir, joinAsParticipant, memberActions,
} from './helpers.mjs';

const bin = process.env.HUDDLE_BIN
  ? path.resolve(webDir, process.env.HUDDLE_BIN)
  : path.resolve(webDir, '..', 'target', 'debug', 'huddle');
const dataDir = mkdtempSync(path.join(tmpdir(), 'huddle-web-acc-'));
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));

// The first admin, made from the command line before the server starts.
const printed = execFileSync(bin, ['admin', 'create', '--email', 'ada@example.org', '--name', 'Ada', '--data-dir', dataDir],
  { env: { ...process.env, RUST_LOG: 'warn' } }).toString();
const setupToken = /\/setup\?token=([0-9a-f]+)/.exec(printed)?.[1];

const suite = browserSuite({ env: { HUDDLE_DATA_DIR: dataDir } });
const PASSWORD = 'a long enough passphrase';

function assertClean(...ps) {
  for (const p of ps) {
    assert.deepEqual(p.problems, [], 'page errors / console errors');
    assert.deepEqual(p.dialogs, [], 'unexpected dialogs');
  }
}

async function signIn(page, base, email, password) {
  await page.goto(`${base}/signin`);
  await page.locator(tid('signin-email')).fill(email);
  await page.locator(tid('signin-password')).fill(password);
  await page.locator(tid('signin-submit')).click();
}

async function joinFromLink(page, name) {
  await page.locator(tid('join-name')).fill(name);
  await page.locator(tid('join-submit')).click();
  await page.locator(tid('fac-panel')).waitFor();
}

test('admin invites a facilitator who runs her room, leaves, and runs it again from a new browser', { timeout: 120000 }, async () => {
  assert.ok(setupToken, `no setup link in: ${printed}`);
  await within(115000, 'accounts journey', async () => {
    const base = suite.base();

    // The admin sets a password and lands on the admin page.
    const A = await suite.open();
    await A.page.goto(`${base}/setup?token=${setupToken}`);
    await A.page.locator(tid('setup-form')).waitFor();
    assert.equal(new URL(A.page.url()).search, '', 'the token leaves the address bar');
    await A.page.locator(tid('setup-password')).fill(PASSWORD);
    await A.page.locator(tid('setup-confirm')).fill(PASSWORD);
    await A.page.locator(tid('setup-submit')).click();
    await A.page.waitForURL(`${base}/admin`);
    await A.page.locator(tid('account-ada@example.org')).waitFor();

    // Invite a facilitator: a link to copy.
    await A.page.locator(tid('invite-role')).selectOption('facilitator');
    await A.page.locator(tid('invite-submit')).click();
    await A.page.locator(tid('link-box')).waitFor();
    const invite = await A.page.locator(tid('link-out')).inputValue();
    assert.match(invite, /\/setup\?token=[0-9a-f]{64}$/);

    // She creates her account from the link...
    const F = await suite.open();
    await F.page.goto(invite);
    await F.page.locator(tid('setup-invite-fields')).waitFor();
    await F.page.locator(tid('setup-email')).fill('fay@example.org');
    await F.page.locator(tid('setup-name')).fill('Fay');
    await F.page.locator(tid('setup-password')).fill(PASSWORD);
    await F.page.locator(tid('setup-confirm')).fill(PASSWORD);
    await F.page.locator(tid('setup-submit')).click();
    await F.page.waitForURL(`${base}/my-rooms`);
    // ...signs out, and in with her password.
    await F.page.locator(tid('sign-out')).click();
    await F.page.waitForURL(`${base}/signin`);
    await signIn(F.page, base, 'fay@example.org', 'wrong password here');
    await F.page.locator(tid('signin-error')).filter({ hasText: 'wrong email or password' }).waitFor();
    await signIn(F.page, base, 'fay@example.org', PASSWORD);
    await F.page.waitForURL(`${base}/my-rooms`);

    // She creates a room and runs it.
    await F.page.locator(tid('my-title')).fill('Thursday debrief');
    await F.page.locator(tid('my-create-submit')).click();
    await F.page.waitForURL(/\/\?room=[0-9a-f]+#key=/);
    const roomId = new URL(F.page.url()).searchParams.get('room');
    await joinFromLink(F.page, 'Fay');
    // She leaves.
    await F.page.locator(tid('leave-button')).click();
    await F.context.close();

    // The admin sees her account.
    await A.page.reload();
    await A.page.locator(tid('account-fay@example.org')).waitFor();
    assert.equal(await A.page.locator(tid('role-fay@example.org')).inputValue(), 'facilitator');

    // A new browser context: sign in, her room is listed, she runs it again.
    const F2 = await suite.open();
    await signIn(F2.page, base, 'fay@example.org', PASSWORD);
    await F2.page.waitForURL(`${base}/my-rooms`);
    const row = F2.page.locator(tid(`my-room-${roomId}`));
    await row.filter({ hasText: 'Thursday debrief' }).waitFor();
    await row.locator(tid('my-room-run')).click();
    await F2.page.waitForURL(new RegExp(`/\\?room=${roomId}#key=`));
    await joinFromLink(F2.page, 'Fay');

    // She removes a participant: the admin sees the bar (room, name, who) and lifts it, and
    // the same browser gets back in at once.
    const X = await suite.open();
    await joinAsParticipant(X.page, base, `/?room=${roomId}`, 'Xan');
    await (await memberActions(F2.page, 'Xan')).locator(tid('member-remove')).click();
    await (await memberActions(F2.page, 'Xan')).locator(tid('member-remove-confirm')).click();
    await X.page.locator(tid('banner-removed')).waitFor();
    const bar = A.page.locator('[data-testid^="bar-"]').filter({ hasText: 'Xan' });
    for (let i = 0; i < 20 && (await bar.count()) === 0; i++) {
      await A.page.reload();
      await A.page.locator(tid('bars-table')).waitFor();
    }
    await bar.filter({ hasText: 'Thursday debrief' }).filter({ hasText: 'Fay' }).waitFor();
    const kept = await X.context.newPage();
    await kept.goto(`${base}/?room=${roomId}`);
    await kept.locator(tid('join-name')).fill('Xander');
    await kept.locator(tid('join-submit')).click();
    await kept.locator(tid('status-title')).filter({ hasText: 'You cannot rejoin this session' }).waitFor();
    await bar.locator('button', { hasText: 'Lift' }).click();
    await A.page.locator(tid('bars-empty')).waitFor();
    assert.equal(await bar.count(), 0);
    const back = await X.context.newPage();
    await joinAsParticipant(back, base, `/?room=${roomId}`, 'Xan');
    await back.locator(tid('chat-input')).waitFor();
    assertClean(A, F2);
  });
});
