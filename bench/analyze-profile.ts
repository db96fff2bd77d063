/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- revocation --cpu-prof`, written to bench/results/): self time
 * by package (node_modules/<pkg>, src/<dir>, node internals, GC, idle) and the heaviest functions.
 *
 *   npm run bench -- profile bench/results/revocation-bot.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseOptions, numberOption } from './lib/setup';
import { table } from './lib/stats';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which part of the system a frame belongs to. */
function owner(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program: V8/native)';
    return `(native) ${functionName}`;
  }
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/src/');
  if (src >= 0) {
    const rest = url.slice(src + 1).split('/');
    return rest[1] === 'generated' ? 'src/generated (prisma client)' : `src/${rest[1]}`;
  }
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return 'bench (instrumentation)';
  return url;
}

export function summarize(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = profile.endTime - profile.startTime;

  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    const who = owner(callFrame.url, callFrame.functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + us);
    const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where} [${who}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const busyUs = totalUs - (byOwner.get('(idle)') ?? 0);
  const rows = (map: Map<string, number>, limit: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => [name, (us / 1000).toFixed(0), `${((us / totalUs) * 100).toFixed(1)} %`, name === '(idle)' ? '' : `${((us / busyUs) * 100).toFixed(1)} %`]);
  return [
    `Profile ${path.basename(file)}: ${(totalUs / 1e6).toFixed(1)} s, ${((busyUs / totalUs) * 100).toFixed(0)} % busy.`,
    '',
    table(['self time by owner', 'ms', '% of wall', '% of busy'], rows(byOwner, 30)),
    '',
    table(['self time by function', 'ms', '% of wall', '% of busy'], rows(byFunction, top)),
  ].join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const file = argv.find((arg) => !arg.startsWith('--'));
  if (!file) {
    console.error('usage: analyze-profile.ts <file.cpuprofile> [--top 25]');
    process.exit(2);
  }
  console.log(summarize(file, numberOption(parseOptions(argv), 'top', 25)));
}
