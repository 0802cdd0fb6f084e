// Command-line parsing for `peerfold`: argv in, one invocation out (or a UsageError). Pure: the
// only outside facts it needs (the working directory, whether a name is a folder there) come in
// through the context, so every rule here is unit-tested.
import { isAbsolute, resolve } from 'node:path';
import type { Method, Params, Settings } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { paramNames, validateParams } from '../../shared/validate.ts';

export class UsageError extends Error {
  constructor(
    message: string,
    /** the usage line of the command at fault, or of the whole program (without "usage: ") */
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type CommandName =
  | 'id'
  | 'share'
  | 'unshare'
  | 'shares'
  | 'status'
  | 'files'
  | 'rescan'
  | 'pause'
  | 'resume'
  | 'stop'
  | 'codes'
  | 'join'
  | 'invite'
  | 'invites'
  | 'revoke'
  | 'peers'
  | 'peer add'
  | 'conflicts'
  | 'resolve'
  | 'confirm-deletes'
  | 'restore-deletes'
  | 'changes'
  | 'revert'
  | 'settings';

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'daemon'; home?: string; listenPort?: number; uiPort?: number }
  | { kind: 'call'; home?: string; json: boolean; command: CommandName; method: Method; params: Params<Method> };

export interface ParseContext {
  cwd: string;
  /** whether a path names an existing directory (decides if a bare SHARE word is a folder or an id) */
  isDir: (path: string) => boolean;
}

interface CommandSpec {
  usage: string;
  summary: string;
  /** options taking a value, beyond the global --home and --json */
  options?: string[];
  /** min and max positional arguments */
  args: [number, number];
  build(args: string[], opts: Map<string, string>, ctx: ParseContext): { method: Method; params: Record<string, unknown> };
}

const boolSettings = new Set<keyof Settings>(['lanDiscovery', 'startAtLogin', 'lanOnly', 'limitLan']);
/** lists of servers: one comma-separated value; "" or "none" is the empty list */
const listSettings = new Set<keyof Settings>(['trackers', 'stunServers', 'turnServers']);
const numberSettings = new Set<keyof Settings>(['listenPort', 'maxSendKBps', 'maxRecvKBps', 'archiveDays']);

/** A folder argument: relative paths are made absolute here, since the daemon's cwd is elsewhere. */
function folderArg(p: string, ctx: ParseContext): string {
  return resolve(ctx.cwd, p);
}

/**
 * SHARE is a share id or the share's folder. Anything that reads as a path (has a separator, is
 * . or .., or is an existing folder here) is sent as an absolute path; anything else as an id.
 */
export function shareArg(s: string, ctx: ParseContext): string {
  if (isAbsolute(s)) return resolve(s);
  if (s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.startsWith('~')) return resolve(ctx.cwd, s);
  if (ctx.isDir(resolve(ctx.cwd, s))) return resolve(ctx.cwd, s);
  return s;
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "24h", "7d" (or a bare number of seconds) in ms. */
export function parseDuration(raw: string, usage: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(raw.trim().toLowerCase());
  if (!m) throw new UsageError(`"${raw}" is not a duration; give a number with s, m, h or d, e.g. 30m or 24h`, usage);
  return Number(m[1]) * DURATION_UNITS[m[2] || 's']!;
}

function settingValue(key: string, raw: string, usage: string): unknown {
  if (boolSettings.has(key as keyof Settings)) {
    const v = raw.toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(v)) return true;
    if (['false', 'off', 'no', '0'].includes(v)) return false;
    throw new UsageError(`${key} takes true or false, not "${raw}"`, usage);
  }
  if (listSettings.has(key as keyof Settings)) {
    if (raw.trim().toLowerCase() === 'none') return [];
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (numberSettings.has(key as keyof Settings)) {
    if (!/^\d+$/.test(raw)) throw new UsageError(`${key} takes a whole number, not "${raw}"`, usage);
    return Number(raw);
  }
  return raw;
}

const share = (method: Method) => (args: string[], _o: Map<string, string>, ctx: ParseContext) => ({
  method,
  params: { share: shareArg(args[0], ctx) },
});
const optionalShare = (method: Method) => (args: string[], _o: Map<string, string>, ctx: ParseContext) => ({
  method,
  params: args.length ? { share: shareArg(args[0], ctx) } : {},
});

export const commands: Record<CommandName, CommandSpec> = {
  id: { usage: 'peerfold id', summary: "print this device's ID", args: [0, 0], build: () => ({ method: 'status', params: {} }) },
  share: {
    usage: 'peerfold share PATH [--name NAME]',
    summary: 'share a folder and print its code',
    options: ['--name'],
    args: [1, 1],
    build: (a, o, ctx) => ({ method: 'share', params: { path: folderArg(a[0], ctx), name: o.get('--name') } }),
  },
  join: {
    usage: 'peerfold join CODE PATH [--name NAME] [--peer HOST:PORT]',
    summary:
      "join a share with its code or a one-time invite into a folder (empty, or holding files to merge); --peer: where the invite's issuer is",
    options: ['--name', '--peer'],
    args: [2, 2],
    build: (a, o, ctx) => ({
      method: 'join',
      params: { code: a[0], path: folderArg(a[1], ctx), name: o.get('--name'), peer: o.get('--peer') },
    }),
  },
  invite: {
    usage: 'peerfold invite SHARE [--access read-write|read-only|encrypted] [--expires DURATION] [--uses N]',
    summary: "make a one-time invite code (default: one use, valid 24h, this device's level); DURATION like 90s, 30m, 24h, 7d",
    options: ['--access', '--expires', '--uses'],
    args: [1, 1],
    build: (a, o, ctx) => {
      const usage = commands.invite.usage;
      const expires = o.get('--expires');
      const uses = o.get('--uses');
      if (uses !== undefined && !/^\d+$/.test(uses)) throw new UsageError(`--uses takes a whole number, not "${uses}"`, usage);
      return {
        method: 'invite',
        params: {
          share: shareArg(a[0], ctx),
          access: o.get('--access'),
          expiresInMs: expires === undefined ? undefined : parseDuration(expires, usage),
          uses: uses === undefined ? undefined : Number(uses),
        },
      };
    },
  },
  invites: { usage: 'peerfold invites SHARE', summary: "list a share's open invites", args: [1, 1], build: share('invites') },
  revoke: {
    usage: 'peerfold revoke SHARE INVITE_ID',
    summary: 'cancel an open invite',
    args: [2, 2],
    build: (a, _o, ctx) => ({ method: 'revokeInvite', params: { share: shareArg(a[0], ctx), id: a[1] } }),
  },
  unshare: { usage: 'peerfold unshare SHARE', summary: 'stop sharing a folder (its files stay)', args: [1, 1], build: share('unshare') },
  shares: { usage: 'peerfold shares', summary: 'list shares', args: [0, 0], build: () => ({ method: 'status', params: {} }) },
  status: { usage: 'peerfold status [SHARE]', summary: 'device and share status', args: [0, 1], build: optionalShare('status') },
  files: {
    usage: 'peerfold files SHARE [--path P]',
    summary: "list a share's index entries (optionally under a path)",
    options: ['--path'],
    args: [1, 1],
    build: (a, o, ctx) => ({ method: 'files', params: { share: shareArg(a[0], ctx), path: o.get('--path') } }),
  },
  rescan: { usage: 'peerfold rescan [SHARE]', summary: 'rescan one share or all', args: [0, 1], build: optionalShare('rescan') },
  pause: { usage: 'peerfold pause [SHARE]', summary: 'pause one share or all', args: [0, 1], build: optionalShare('pause') },
  resume: { usage: 'peerfold resume [SHARE]', summary: 'resume one share or all', args: [0, 1], build: optionalShare('resume') },
  codes: { usage: 'peerfold codes SHARE', summary: "print a share's codes", args: [1, 1], build: share('codes') },
  peers: { usage: 'peerfold peers [SHARE]', summary: 'list peers', args: [0, 1], build: optionalShare('peers') },
  'peer add': {
    usage: 'peerfold peer add SHARE HOST:PORT',
    summary: "add a peer's address by hand",
    args: [2, 2],
    build: (a, _o, ctx) => ({ method: 'addPeer', params: { share: shareArg(a[0], ctx), address: a[1] } }),
  },
  conflicts: { usage: 'peerfold conflicts [SHARE]', summary: 'list conflicts', args: [0, 1], build: optionalShare('conflicts') },
  resolve: {
    usage: 'peerfold resolve SHARE PATH --keep local|remote|both',
    summary: 'resolve a conflict (PATH relative to the share folder)',
    options: ['--keep'],
    args: [2, 2],
    build: (a, o, ctx) => {
      const keep = o.get('--keep');
      if (keep === undefined) throw new UsageError('resolve needs --keep local, --keep remote or --keep both', commands.resolve.usage);
      if (!['local', 'remote', 'both'].includes(keep))
        throw new UsageError(`--keep takes local, remote or both, not "${keep}"`, commands.resolve.usage);
      return { method: 'resolve', params: { share: shareArg(a[0], ctx), path: a[1], keep } };
    },
  },
  'confirm-deletes': {
    usage: 'peerfold confirm-deletes SHARE',
    summary: 'send the deletions held by the mass-delete guard to the other devices',
    args: [1, 1],
    build: share('confirmDeletes'),
  },
  'restore-deletes': {
    usage: 'peerfold restore-deletes SHARE',
    summary: 'drop the held deletions and pull those files back from the other devices',
    args: [1, 1],
    build: share('restoreDeletes'),
  },
  changes: {
    usage: 'peerfold changes SHARE',
    summary: 'list the changes made here on a read-only share (no other device takes them)',
    args: [1, 1],
    build: share('changes'),
  },
  revert: {
    usage: 'peerfold revert SHARE [PATH]',
    summary: "restore the shared version of a read-only share's local changes (all, or PATH); what they replace goes to the archive",
    args: [1, 2],
    build: (a, _o, ctx) => ({
      method: 'revert',
      params: a.length > 1 ? { share: shareArg(a[0], ctx), path: a[1] } : { share: shareArg(a[0], ctx) },
    }),
  },
  settings: {
    usage: 'peerfold settings [KEY VALUE]',
    summary: 'show settings, or change one',
    args: [0, 2],
    build: (a) => {
      const usage = commands.settings.usage;
      if (a.length === 0) return { method: 'getSettings', params: {} };
      const keys = paramNames('setSettings');
      if (a.length === 1) throw new UsageError(`settings needs a value for ${a[0]}`, usage);
      if (!keys.includes(a[0])) throw new UsageError(`unknown setting "${a[0]}"; settings are ${keys.join(', ')}`, usage);
      return { method: 'setSettings', params: { [a[0]]: settingValue(a[0], a[1], usage) } };
    },
  },
  stop: { usage: 'peerfold stop', summary: 'stop the daemon', args: [0, 0], build: () => ({ method: 'stop', params: {} }) },
};

const daemonUsage = 'peerfold daemon [--listen PORT] [--ui-port PORT]';

export function helpText(): string {
  const rows: [string, string][] = [
    [daemonUsage, 'run the engine in the foreground (web UI on 127.0.0.1)'],
    ...Object.values(commands).map((c): [string, string] => [c.usage, c.summary]),
  ];
  const width = Math.max(...rows.map(([u]) => u.length - 'peerfold '.length));
  return [
    'usage: peerfold [--home DIR] COMMAND [ARGS] [--json]',
    '',
    'commands:',
    ...rows.map(([u, s]) => `  ${u.slice('peerfold '.length).padEnd(width)}  ${s}`),
    '',
    'options:',
    '  --home DIR  the home folder (default: $PEERFOLD_HOME, else the OS app-data folder)',
    "  --json      print the result as one JSON document (the API contract's types)",
    '',
    'exit codes: 0 success, 1 failure (reason on stderr), 2 bad usage',
  ].join('\n');
}

const programUsage = 'peerfold [--home DIR] COMMAND [ARGS] [--json]   (`peerfold help` lists the commands)';

function port(flag: string, raw: string, usage: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535)
    throw new UsageError(`${flag} takes a port number from 0 to 65535 (0 = any free port), not "${raw}"`, usage);
  return Number(raw);
}

/** Parses argv (without the node and script entries). Throws UsageError on bad usage. */
export function parseArgs(argv: string[], ctx: ParseContext): Invocation {
  const positional: string[] = [];
  const opts = new Map<string, string>();
  let json = false;
  let help = false;
  const valued = new Set(['--home', '--name', '--path', '--keep', '--listen', '--ui-port', '--peer', '--access', '--expires', '--uses']);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      if (!valued.has(flag)) throw new UsageError(`unknown option ${flag}`, usageOf(positional));
      let value: string | undefined;
      if (eq > 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`, usageOf(positional));
        i++;
      }
      if (opts.has(flag)) throw new UsageError(`${flag} given twice`, usageOf(positional));
      opts.set(flag, value);
    } else if (arg.startsWith('-') && arg.length > 1) {
      throw new UsageError(`unknown option ${arg}`, usageOf(positional));
    } else positional.push(arg);
  }

  const home = opts.get('--home');
  if (home !== undefined && home.trim() === '') throw new UsageError('--home needs a folder', programUsage);
  const [first, ...rest] = positional;
  if (first === undefined) {
    if (help) return { kind: 'help', text: helpText() };
    throw new UsageError('no command given', programUsage);
  }
  if (first === 'help') return { kind: 'help', text: helpText() };

  if (first === 'daemon') {
    if (help) return { kind: 'help', text: `usage: ${daemonUsage}` };
    checkOptions(opts, ['--listen', '--ui-port'], daemonUsage);
    if (json) throw new UsageError('daemon does not take --json', daemonUsage);
    if (rest.length) throw new UsageError(`daemon takes no arguments (got "${rest[0]}")`, daemonUsage);
    const listen = opts.get('--listen');
    const ui = opts.get('--ui-port');
    return {
      kind: 'daemon',
      home,
      listenPort: listen === undefined ? undefined : port('--listen', listen, daemonUsage),
      uiPort: ui === undefined ? undefined : port('--ui-port', ui, daemonUsage),
    };
  }

  let name: CommandName;
  let args: string[];
  if (first === 'peer') {
    if (rest[0] !== 'add')
      throw new UsageError(
        rest[0] === undefined ? 'peer needs a subcommand' : `unknown peer subcommand "${rest[0]}"`,
        commands['peer add'].usage,
      );
    name = 'peer add';
    args = rest.slice(1);
  } else if (Object.prototype.hasOwnProperty.call(commands, first)) {
    name = first as CommandName;
    args = rest;
  } else {
    throw new UsageError(`unknown command "${first}"`, programUsage);
  }
  const spec = commands[name];
  if (help) return { kind: 'help', text: `usage: ${spec.usage}\n  ${spec.summary}` };
  checkOptions(opts, spec.options ?? [], spec.usage);
  const [min, max] = spec.args;
  if (args.length < min)
    throw new UsageError(`${name} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}`, spec.usage);
  if (args.length > max)
    throw new UsageError(`${name} takes ${max === 0 ? 'no arguments' : `at most ${max}`} (got "${args[max]}")`, spec.usage);

  const { method, params } = spec.build(args, opts, ctx);
  try {
    return { kind: 'call', home, json, command: name, method, params: validateParams(method, params) };
  } catch (err) {
    if (err instanceof ApiError) throw new UsageError(err.message, spec.usage);
    throw err;
  }
}

function checkOptions(opts: Map<string, string>, allowed: string[], usage: string): void {
  for (const flag of opts.keys()) {
    if (flag !== '--home' && !allowed.includes(flag)) throw new UsageError(`unknown option ${flag} here`, usage);
  }
}

function usageOf(positional: string[]): string {
  const first = positional[0];
  if (first === 'daemon') return daemonUsage;
  if (first === 'peer') return commands['peer add'].usage;
  if (first && Object.prototype.hasOwnProperty.call(commands, first)) return commands[first as CommandName].usage;
  return programUsage;
}
