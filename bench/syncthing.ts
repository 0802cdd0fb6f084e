// Optional reference: Debian's syncthing moving the same amount of random data between two
// instances on this machine. Loopback only: each instance listens on 127.0.0.1, knows the other's
// address by hand, and has global and local discovery, relays, NAT traversal, STUN, usage and
// crash reports and upgrades turned off. Skipped (with the reason) when syncthing is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fatal, sleep, waitUntil } from '../e2e/harness.ts';
import { fmt, mb, now, writeRandomFile } from './lib.ts';

export interface SyncthingFigures {
  version: string;
  bytes: number;
  /** from the receiver first needing the file to having it */
  pullSeconds: number;
  MBps: number;
  /** from the file appearing in the sender's folder (its scan included) */
  endToEndSeconds: number;
}
export type SyncthingResult = SyncthingFigures | { skipped: string };

interface Instance {
  name: string;
  home: string;
  folder: string;
  guiPort: number;
  listenPort: number;
  apiKey: string;
  deviceId: string;
  proc: ChildProcess | null;
  log: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function configXml(self: Instance, peer: Instance): string {
  const device = (
    d: Instance,
  ) => `    <device id="${d.deviceId}" name="${d.name}" compression="metadata" introducer="false" skipIntroductionRemovals="false" introducedBy="">
        <address>tcp://127.0.0.1:${d.listenPort}</address>
        <paused>false</paused>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>`;
  return `<configuration version="36">
    <folder id="bench" label="bench" path="${xml(self.folder)}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="1" ignorePerms="false" autoNormalize="true">
        <device id="${self.deviceId}" introducedBy=""></device>
        <device id="${peer.deviceId}" introducedBy=""></device>
    </folder>
${device(self)}
${device(peer)}
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:${self.guiPort}</address>
        <apikey>${self.apiKey}</apikey>
        <theme>default</theme>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:${self.listenPort}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <stunKeepaliveStartS>0</stunKeepaliveStartS>
        <stunKeepaliveMinS>0</stunKeepaliveMinS>
        <urAccepted>-1</urAccepted>
        <crashReportingEnabled>false</crashReportingEnabled>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <startBrowser>false</startBrowser>
        <announceLANAddresses>false</announceLANAddresses>
    </options>
</configuration>
`;
}

async function api<T>(inst: Instance, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${inst.guiPort}${path}`, { ...init, headers: { 'X-API-Key': inst.apiKey } });
  if (!res.ok) throw new Error(`syncthing ${inst.name} ${path}: HTTP ${res.status}`);
  const text = await res.text();
  return (text ? JSON.parse(text) : null) as T;
}

interface FolderStatus {
  state: string;
  needBytes: number;
  needFiles: number;
  localBytes: number;
  globalBytes: number;
}

export async function benchSyncthing(opts: { bytes: number; log: (s: string) => void }): Promise<SyncthingResult> {
  const v = spawnSync('syncthing', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return { skipped: 'syncthing is not installed (flock /tmp/apt.lock apt-get install -y syncthing)' };
  const version = v.stdout.trim().split(' ').slice(0, 2).join(' ');
  const base = mkdtempSync(join(process.env.PEERFOLD_E2E_DIR ?? tmpdir(), 'peerfold-bench-syncthing-'));
  const insts: Instance[] = [];
  const env = { ...process.env, STNODEFAULTFOLDER: '1', STNOUPGRADE: '1', STNORESTART: '1', HOME: base };
  try {
    for (const name of ['st-sender', 'st-receiver']) {
      const home = join(base, `${name}-home`);
      const folder = join(base, `${name}-folder`);
      mkdirSync(join(folder, '.stfolder'), { recursive: true });
      const gen = spawnSync('syncthing', ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'], {
        encoding: 'utf8',
        env,
      });
      if (gen.status !== 0) return { skipped: `syncthing generate failed: ${gen.stderr || gen.stdout}` };
      const id = spawnSync('syncthing', ['serve', `--home=${home}`, '--device-id'], { encoding: 'utf8', env });
      const deviceId = id.stdout.trim();
      if (id.status !== 0 || !/^[A-Z0-9-]{50,}$/.test(deviceId))
        return { skipped: `cannot read the syncthing device ID: ${id.stderr || id.stdout}` };
      insts.push({
        name,
        home,
        folder,
        guiPort: await freePort(),
        listenPort: await freePort(),
        apiKey: randomBytes(16).toString('hex'),
        deviceId,
        proc: null,
        log: '',
      });
    }
    const [a, b] = insts as [Instance, Instance];
    writeFileSync(join(a.home, 'config.xml'), configXml(a, b));
    writeFileSync(join(b.home, 'config.xml'), configXml(b, a));
    for (const inst of insts) {
      const proc = spawn('syncthing', ['serve', `--home=${inst.home}`, '--no-browser', '--no-restart', '--no-upgrade'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      inst.proc = proc;
      proc.stdout!.on('data', (d) => (inst.log += d));
      proc.stderr!.on('data', (d) => (inst.log += d));
    }
    opts.log('syncthing: two instances on loopback, waiting for them to connect');
    for (const [self, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      await waitUntil(
        `${self.name} to connect`,
        async () => {
          if (self.proc?.exitCode !== null) throw new Fatal(`syncthing exited: ${self.log.slice(-2000)}`);
          const c = await api<{ connections: Record<string, { connected: boolean }> }>(self, '/rest/system/connections');
          return c.connections[peer.deviceId]?.connected;
        },
        120_000,
        200,
      );
    }
    await waitUntil(
      'the folder to be idle on both',
      async () => {
        for (const inst of insts) if ((await api<FolderStatus>(inst, '/rest/db/status?folder=bench')).state !== 'idle') return false;
        return true;
      },
      120_000,
      200,
    );

    opts.log(`syncthing: ${opts.bytes / 2 ** 20} MiB from one to the other`);
    const staging = join(base, 'staging.bin');
    writeRandomFile(staging, opts.bytes);
    const t0 = now();
    renameSync(staging, join(a.folder, 'big-transfer.bin'));
    let tNeed = 0;
    await waitUntil(
      'the file to arrive',
      async () => {
        const s = await api<FolderStatus>(b, '/rest/db/status?folder=bench');
        if (!tNeed && (s.needBytes > 0 || s.state === 'syncing')) tNeed = now();
        if (s.state !== 'idle' || s.needFiles > 0 || s.globalBytes < opts.bytes) return false;
        try {
          return statSync(join(b.folder, 'big-transfer.bin')).size === opts.bytes;
        } catch {
          return false;
        }
      },
      1_800_000,
      50,
    );
    const tDone = now();
    const pullSeconds = (tDone - (tNeed || t0)) / 1000;
    return { version, bytes: opts.bytes, pullSeconds, MBps: mb(opts.bytes) / pullSeconds, endToEndSeconds: (tDone - t0) / 1000 };
  } finally {
    for (const inst of insts) {
      const p = inst.proc;
      if (!p || p.exitCode !== null) continue;
      p.kill('SIGTERM');
      const killer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await new Promise((r) => p.once('exit', r));
      clearTimeout(killer);
    }
    await sleep(100);
    rmSync(base, { recursive: true, force: true });
  }
}

export function printSyncthing(r: SyncthingResult): void {
  if ('skipped' in r) {
    console.log(`syncthing (reference): skipped: ${r.skipped}`);
    return;
  }
  console.log(`syncthing (reference, ${r.version}): the same transfer over loopback TCP+TLS`);
  console.log(`  pull                   ${fmt(r.MBps)} MB/s (${fmt(r.pullSeconds, 2)} s from need to file in place)`);
  console.log(`  end to end             ${fmt(r.endToEndSeconds, 2)} s (its scan included)`);
}
