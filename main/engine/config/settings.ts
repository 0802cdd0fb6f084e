import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { Settings } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import {
  DEFAULT_STUN_SERVERS,
  DEFAULT_TRACKERS,
  parseServerList,
  parseStunUrl,
  parseTrackerUrl,
  parseTurnUrl,
  type Parsed,
} from '../../../shared/net-servers.ts';
import { writeFileAtomic } from './atomic-write.ts';

export const DEFAULT_LISTEN_PORT = 21120;

export { DEFAULT_STUN_SERVERS, DEFAULT_TRACKERS };

const serverLists: Record<'trackers' | 'stunServers' | 'turnServers', (url: string) => Parsed<unknown>> = {
  trackers: parseTrackerUrl,
  stunServers: parseStunUrl,
  turnServers: parseTurnUrl,
};

export function defaultSettings(): Settings {
  return {
    deviceName: hostname() || 'peerfold-device',
    listenPort: DEFAULT_LISTEN_PORT,
    lanDiscovery: true,
    maxSendKBps: 0,
    maxRecvKBps: 0,
    archiveDays: 30,
    startAtLogin: false,
    trackers: [...DEFAULT_TRACKERS],
    stunServers: [...DEFAULT_STUN_SERVERS],
    turnServers: [],
    lanOnly: false,
    limitLan: true,
  };
}

/** Merges a stored or submitted partial over a base, keeping only well-typed, sane values. */
export function mergeSettings(base: Settings, patch: Partial<Record<keyof Settings, unknown>>): Settings {
  const out = { ...base };
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch) as [keyof Settings, unknown][]) {
    if (value === undefined) continue;
    switch (key) {
      case 'deviceName':
        if (typeof value === 'string' && value.trim().length > 0 && value.length <= 64) out.deviceName = value.trim();
        else problems.push('deviceName must be 1 to 64 characters');
        break;
      case 'listenPort':
        if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535) out.listenPort = value as number;
        else problems.push('listenPort must be a port number from 0 to 65535 (0 picks any free port)');
        break;
      case 'maxSendKBps':
      case 'maxRecvKBps':
      case 'archiveDays':
        if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 1e9) out[key] = value as number;
        else problems.push(`${key} must be a whole number, 0 or more`);
        break;
      case 'trackers':
      case 'stunServers':
      case 'turnServers': {
        const r = parseServerList(value, key, serverLists[key]);
        if (r.ok) out[key] = r.value;
        else problems.push(r.error);
        break;
      }
      case 'lanDiscovery':
      case 'startAtLogin':
      case 'lanOnly':
      case 'limitLan':
        if (typeof value === 'boolean') out[key] = value;
        else problems.push(`${key} must be true or false`);
        break;
      default:
        problems.push(`unknown setting "${String(key)}"`);
    }
  }
  if (problems.length) throw new ApiError('bad-request', problems.join('; '));
  return out;
}

export class SettingsFile {
  private current: Settings;
  private readonly file: string;

  constructor(home: string, overrides: Partial<Settings> = {}) {
    mkdirSync(home, { recursive: true });
    this.file = join(home, 'settings.json');
    let stored: Partial<Settings> = {};
    try {
      stored = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Settings>;
    } catch {
      // missing or unreadable: defaults, rewritten on the next change
    }
    let merged = defaultSettings();
    try {
      merged = mergeSettings(merged, stored);
    } catch {
      // a hand-edited file with a bad value keeps the defaults for everything rather than refusing to start
    }
    this.current = mergeSettings(merged, overrides);
  }

  get(): Settings {
    return { ...this.current };
  }

  update(patch: Partial<Settings>): Settings {
    this.current = mergeSettings(this.current, patch);
    writeFileAtomic(this.file, JSON.stringify(this.current, null, 2) + '\n');
    return this.get();
  }
}
