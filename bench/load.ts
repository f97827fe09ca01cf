// Starts bench/driver.ts in a process of its own and reads back its figures; reads a process
// tree's peak memory from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '@citadel/kit/paths';
import type { DriverFigures, DriverJob } from './driver';

export type { DriverFigures, DriverJob };

/** Called when the driver's warm-up is over and the measured part starts, and when it ends. */
export interface DriveHooks {
  onMeasuring?: () => void;
  onMeasured?: () => void;
}

export function drive(job: DriverJob, hooks: DriveHooks = {}): Promise<DriverFigures> {
  let { onMeasuring, onMeasured } = hooks;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/driver.ts', JSON.stringify(job)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const timeout = setTimeout(() => child.kill('SIGKILL'), (job.seconds + job.warmupSeconds + 60) * 1000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (onMeasuring && stderr.includes('measuring\n')) {
        onMeasuring();
        onMeasuring = undefined;
      }
      if (onMeasured && stderr.includes('measured\n')) {
        onMeasured();
        onMeasured = undefined;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timeout);
      if (code !== 0) return reject(new Error(`load driver exited with ${code}: ${stderr.slice(-2000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as DriverFigures);
    });
  });
}

/** A process and its descendants (tsx's loader and CLIs may run the real work in a child). */
export function processTree(pid: number): number[] {
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]!));
  return all;
}

/** Resident memory now (VmRSS) or at its peak (VmHWM) of a process, in MiB; 0 once it is gone. */
export function memoryMib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field));
    return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The V8 heap in use of a service, from prom-client's default metrics on its /metrics, MiB. */
export async function heapMib(base: string): Promise<number> {
  const text = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), () => '');
  const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return match ? Math.round((Number(match[1]) / 2 ** 20) * 10) / 10 : 0;
}

/** The largest peak RSS in a process tree, in MiB (the process doing the gateway's work). */
export function peakTreeRssMib(pid: number): number {
  return Math.max(0, ...processTree(pid).map((p) => memoryMib(p, 'VmHWM')));
}

/** The pid of the process in `root`'s tree whose command line contains `needle`. */
export function findProcess(root: number, needle: string): number {
  const pid = processTree(root).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
  if (!pid) throw new Error(`no process running ${needle} under ${root}`);
  return pid;
}
