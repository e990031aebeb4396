import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Whether this process can see an NVIDIA GPU, judged from what the driver exposes (device nodes,
 * /proc) and CUDA_VISIBLE_DEVICES, without loading any CUDA library. `reason` says why not.
 */
export function nvidiaGpuVisibility(env: NodeJS.ProcessEnv = process.env): { visible: boolean; reason?: string } {
  const mask = env.CUDA_VISIBLE_DEVICES;
  if (mask !== undefined && (mask.trim() === '' || mask.trim() === '-1')) {
    return { visible: false, reason: `CUDA_VISIBLE_DEVICES=${JSON.stringify(mask)} hides every GPU` };
  }
  if (deviceNodes().length > 0 || driverGpus().length > 0) return { visible: true };
  return { visible: false, reason: 'no NVIDIA GPU is visible (no /dev/nvidia<N> device and no GPU under /proc/driver/nvidia)' };
}

function deviceNodes(): string[] {
  try {
    return readdirSync('/dev').filter((name) => /^nvidia\d+$/.test(name));
  } catch {
    return [];
  }
}

function driverGpus(): string[] {
  const dir = '/proc/driver/nvidia/gpus';
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Shared libraries mapped into this process whose file name starts with one of `prefixes`
 * (Linux only; elsewhere nothing is found). TensorFlow loads its CUDA libraries when it registers a
 * GPU and quietly keeps to the CPU when one is missing, so what is mapped tells which happened.
 */
export function mappedLibraries(prefixes: readonly string[]): string[] {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return [];
  }
  const found = new Set<string>();
  for (const line of maps.split('\n')) {
    const file = line.slice(line.lastIndexOf('/') + 1);
    if (prefixes.some((p) => file.startsWith(p))) found.add(file);
  }
  return [...found].sort();
}
