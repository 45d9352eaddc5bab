// Calls through a real TURN server (issue 16): Debian's coturn (`turnserver`) on loopback with
// the TURN REST API (`--use-auth-secret`), and Huddle handing out credentials signed with the
// same secret. Pages opened with `?relay=1` use `iceTransportPolicy: 'relay'`, so their media can
// only flow through coturn: a call that decodes video proves the credentials, and getStats shows
// the selected pair's local candidate is a relay in coturn's port range. With Huddle given
// another secret, coturn refuses the credentials, nothing connects and the page says why.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, newPage, tid, createRoom, joinAsParticipant, joinAsFacilitator,
  within, repoDir,
} from './helpers.mjs';

const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];
const SECRET = 'huddle-turn-test-secret';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
let turn;
const pages = [];
const stops = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * coturn on 127.0.0.1: one listening port (UDP and TCP), relays in a small UDP range, TURN REST
 * API credentials checked with `secret`.
 */
async function startTurn(secret) {
  const port = await freePort();
  // 32 relay ports somewhere in 40000-59999 (a clash with another process makes coturn skip a port).
  const minPort = 40000 + Math.floor(Math.random() * 625) * 32;
  const maxPort = minPort + 31;
  const t = await spawnTurn(port, [
    '-n', '--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--listening-port', String(port),
    '--min-port', String(minPort), '--max-port', String(maxPort),
    '--use-auth-secret', '--static-auth-secret', secret, '--realm', 'huddle.test',
    '--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-cli', '--fingerprint',
    '--log-file', 'stdout', '--simple-log',
  ]);
  return { ...t, minPort, maxPort };
}

/**
 * `turnserver ARGS` with its own pid file and user database in a temp dir, its output in
 * target/web-test-turnserver-PORT.log; resolves once it accepts TCP on `port`.
 */
async function spawnTurn(port, args) {
  const dir = mkdtempSync(path.join(tmpdir(), 'huddle-turn-'));
  mkdirSync(path.join(repoDir, 'target'), { recursive: true });
  const logFile = path.join(repoDir, 'target', `web-test-turnserver-${port}.log`);
  const log = createWriteStream(logFile);
  const child = spawn('turnserver', [
    ...args, '--pidfile', path.join(dir, 'turnserver.pid'), '--userdb', path.join(dir, 'turndb'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const kill = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', kill);
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    const t = Date.now();
    while (!exited && Date.now() - t < 3000) await sleep(50);
    kill();
    process.removeListener('exit', kill);
    await new Promise((r) => log.end(r));
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (exited) throw new Error(`turnserver exited early (${JSON.stringify(exited)}); see ${logFile}`);
    const ok = await new Promise((res) => {
      const c = connect(port, '127.0.0.1', () => { c.end(); res(true); });
      c.on('error', () => res(false));
    });
    if (ok) return { port, stop, logFile };
    await sleep(100);
  }
  await stop();
  throw new Error(`turnserver did not listen on ${port}; see ${logFile}`);
}

before(async () => {
  const which = spawnSync('turnserver', ['--help'], { stdio: 'ignore' });
  if (which.error) throw new Error('turnserver (Debian package coturn) is not installed: scripts/test installs it');
  turn = await startTurn(SECRET);
  stops.push(() => turn.stop());
  browser = await launchBrowser(MEDIA_FLAGS);
}, { timeout: 60000 });
after(async () => {
  for (const p of pages) await p.context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  for (const s of stops.reverse()) await s();
}, { timeout: 30000 });

async function open() {
  const p = await newPage(browser);
  pages.push(p);
  return p;
}

/** `/?room=…#key=…` → `/?room=…&relay=1#key=…`: the page uses relay candidates only. */
const relayOnly = (link) => {
  const [pathq, frag] = link.split('#');
  return `${pathq}${pathq.includes('?') ? '&' : '?'}relay=1${frag !== undefined ? `#${frag}` : ''}`;
};

/** A server handing out TURN credentials signed with `secret`, and two relay-only pages in a call. */
async function relayCall(secret) {
  const server = await startServer({
    env: { HUDDLE_TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`, HUDDLE_TURN_SECRET: secret },
  });
  stops.push(() => server.stop());
  const room = await createRoom(server.base, { title: 'Through the relay', kind: 'group' });
  const F = await open();
  const A = await open();
  await joinAsFacilitator(F.page, server.base, relayOnly(room.facilitator_link));
  await joinAsParticipant(A.page, server.base, relayOnly(room.join_link), 'Ana');
  await F.page.locator(tid('call-mode')).selectOption('video');
  for (const p of [F, A]) {
    await p.page.locator(tid('call-join')).click();
    await p.page.locator(tid('call-mic')).click();
    await p.page.locator(tid('call-mic')).filter({ hasText: 'Mute mic' }).waitFor();
    await p.page.locator(tid('call-camera')).click();
    await p.page.locator(tid('call-camera')).filter({ hasText: 'Stop camera' }).waitFor();
  }
  return { F, A };
}

test('relay-only pages connect a call through coturn with Huddle’s TURN credentials', { timeout: 60000 }, async () => {
  await within(50000, 'a call through TURN', async () => {
    const { F, A } = await relayCall(SECRET);
    const t0 = Date.now();
    for (const p of [F, A]) {
      let last;
      for (;;) {
        last = Object.values(await p.page.evaluate(() => window.__huddle.callStats()));
        if (last.length === 1 && last[0].framesDecoded > 0 && last[0].audioPacketsReceived > 0 && last[0].localCandidate) break;
        if (Date.now() - t0 > 25000) assert.fail(`no media through TURN within 25 s: ${JSON.stringify(last)}`);
        await sleep(250);
      }
      const [s] = last;
      assert.equal(s.policy, 'relay', 'the page asked for relay candidates only');
      assert.equal(s.relay, true, 'the selected pair’s local candidate is a relay');
      assert.equal(s.localCandidate.type, 'relay');
      assert.equal(s.localCandidate.address, '127.0.0.1');
      assert.ok(s.localCandidate.port >= turn.minPort && s.localCandidate.port <= turn.maxPort,
        `the relay port ${s.localCandidate.port} is coturn's (${turn.minPort}-${turn.maxPort})`);
    }
    for (const p of [F, A]) {
      assert.equal(await p.page.locator(tid('call-turn-error')).count(), 0, 'no TURN complaint when it works');
      assert.deepEqual(p.problems, [], 'no page or console errors');
    }
  });
});

test('a secret coturn does not share: no connection, and the page says why', { timeout: 60000 }, async () => {
  await within(50000, 'a call with refused TURN credentials', async () => {
    const { F, A } = await relayCall('not-the-secret-coturn-has');
    for (const p of [F, A]) {
      const msg = p.page.locator(tid('call-turn-error'));
      await msg.waitFor({ timeout: 20000 });
      assert.match(await msg.textContent(), /relay server \(TURN\) refused this call’s credentials/);
      assert.equal(await msg.getAttribute('role'), 'alert');
      const stats = Object.values(await p.page.evaluate(() => window.__huddle.callStats()));
      assert.equal(stats.length, 1);
      assert.equal(stats[0].framesDecoded, 0, 'no media without the relay');
      assert.equal(stats[0].relay, false);
    }
  });
});

test('deploy/coturn.conf is accepted by the real turnserver', { timeout: 30000 }, async () => {
  // The example as shipped, with free loopback ports and the log on stdout (the certificates of
  // turn.example.org are absent here: coturn only warns that TLS is off).
  const port = await freePort();
  const tlsPort = await freePort();
  const conf = readFileSync(path.join(repoDir, 'deploy', 'coturn.conf'), 'utf8')
    .replace(/^listening-port=.*$/m, `listening-port=${port}`)
    .replace(/^tls-listening-port=.*$/m, `tls-listening-port=${tlsPort}`)
    .replace(/^log-file=.*$/m, 'log-file=stdout')
    .replace(/^no-stdout-log$/m, '')
    .concat('\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\n');
  const dir = mkdtempSync(path.join(tmpdir(), 'huddle-coturn-conf-'));
  const file = path.join(dir, 'coturn.conf');
  writeFileSync(file, conf);
  try {
    const t = await spawnTurn(port, ['-c', file]);
    await sleep(500);
    await t.stop();
    const log = readFileSync(t.logFile, 'utf8');
    assert.doesNotMatch(log, /Bad configuration format/, 'every option is one coturn knows');
    assert.doesNotMatch(log, /ERROR/, 'no option value is refused');
    assert.match(log, /Default realm: turn\.example\.org/);
    assert.doesNotMatch(log, /allow_loopback_peers/, 'the example never relays to loopback');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
