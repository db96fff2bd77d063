/** Where the CPU went during a measured window, per component, from /proc (Linux only): the bot, the fake Slack,
 * Redis, the PostgreSQL backends serving the bench database, and the whole machine. Other people's load on the
 * shared PostgreSQL and Redis servers shows up in "machine" (and in redis-server, which is one process for all). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { Client } from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function redisServerPid(): number | null {
  try {
    const info = execFileSync('redis-cli', ['INFO', 'server'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    return Number.isFinite(pid) ? pid : null;
  } catch {
    return null;
  }
}

export interface CpuReport {
  wallMs: number;
  /** CPU milliseconds per component during the window. */
  components: Record<string, number>;
  /** Share of all cores busy during the window, 0–1. */
  machineBusy: number;
  cores: number;
}

/** Call sample() now and then during the window (it tracks PostgreSQL backends as they come and go), then report(). */
export class CpuMeter {
  private readonly start = Date.now();
  private readonly machineStart = machineTicks();
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly roles = new Map<number, string>();
  private readonly admin: Client;

  private constructor(
    adminUrl: string,
    private readonly database: string,
  ) {
    this.admin = new Client({ connectionString: adminUrl });
  }

  /** `processes`: the Node processes to watch, by role (several may share one, e.g. two bots). */
  static async start(options: { adminUrl: string; database: string; processes: Array<{ role: string; pid: number }> }): Promise<CpuMeter> {
    const meter = new CpuMeter(options.adminUrl, options.database);
    await meter.admin.connect();
    for (const { role, pid } of options.processes) meter.roles.set(pid, role);
    const redis = redisServerPid();
    if (redis) meter.roles.set(redis, 'redis-server (shared)');
    await meter.sample(true);
    return meter;
  }

  async sample(initial = false): Promise<void> {
    const { rows } = await this.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [this.database]);
    for (const { pid } of rows) if (!this.roles.has(pid)) this.roles.set(pid, 'postgres backends (bench db)');
    for (const pid of this.roles.keys()) {
      const cpu = processCpuMs(pid);
      if (cpu === null) continue;
      // A backend first seen after the window opened started within it: all of its CPU counts.
      if (!this.first.has(pid)) this.first.set(pid, initial ? cpu : 0);
      this.last.set(pid, cpu);
    }
  }

  async report(): Promise<CpuReport> {
    await this.sample();
    await this.admin.end();
    const machineEnd = machineTicks();
    const components: Record<string, number> = {};
    for (const [pid, role] of this.roles) {
      const used = (this.last.get(pid) ?? 0) - (this.first.get(pid) ?? 0);
      components[role] = (components[role] ?? 0) + used;
    }
    return {
      wallMs: Date.now() - this.start,
      components,
      machineBusy: (machineEnd.busy - this.machineStart.busy) / Math.max(1, machineEnd.total - this.machineStart.total),
      cores: os.cpus().length,
    };
  }
}
