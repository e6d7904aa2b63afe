// The Prometheus text exposition (format 0.0.4) of the figures `box stats` reads, for
// node_exporter's textfile collector or any scraper: box has no daemon to scrape, so a cron job
// or a timer writes `box stats --format prometheus` to a file. Counters are totals since the
// container started, so no interval is needed (unlike CPU %).
import { Sample } from './stats';

export interface ContainerFigures {
  id: string;
  name: string;
  image: string;
  running: boolean;
  restarts: number;
  /** starting, healthy or unhealthy; undefined without a health check */
  health?: string;
  sample: Sample;
}

interface Metric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  value: (f: ContainerFigures) => number | undefined;
}

const METRICS: Metric[] = [
  { name: 'box_container_running', type: 'gauge', help: '1 if the container is running', value: (f) => +f.running },
  {
    name: 'box_container_cpu_usage_seconds_total',
    type: 'counter',
    help: 'CPU time used by the container',
    value: (f) => f.sample.cpuNs / 1e9,
  },
  {
    name: 'box_container_memory_usage_bytes',
    type: 'gauge',
    help: 'memory used by the container',
    value: (f) => f.sample.memUsage,
  },
  {
    name: 'box_container_memory_limit_bytes',
    type: 'gauge',
    help: "the container's memory limit (the host's memory when it has none)",
    value: (f) => (f.running ? f.sample.memLimit : undefined),
  },
  { name: 'box_container_pids', type: 'gauge', help: 'processes in the container', value: (f) => f.sample.pids },
  {
    name: 'box_container_network_receive_bytes_total',
    type: 'counter',
    help: 'bytes received on all interfaces but lo',
    value: (f) => f.sample.netRx,
  },
  {
    name: 'box_container_network_transmit_bytes_total',
    type: 'counter',
    help: 'bytes sent on all interfaces but lo',
    value: (f) => f.sample.netTx,
  },
  {
    name: 'box_container_block_read_bytes_total',
    type: 'counter',
    help: 'bytes read from block devices',
    value: (f) => f.sample.blkRead,
  },
  {
    name: 'box_container_block_write_bytes_total',
    type: 'counter',
    help: 'bytes written to block devices',
    value: (f) => f.sample.blkWrite,
  },
  {
    name: 'box_container_restarts_total',
    type: 'counter',
    help: 'restarts by its restart policy',
    value: (f) => f.restarts,
  },
];

const HEALTH_STATES = ['starting', 'healthy', 'unhealthy'];

/** A label value escaped as the format asks: backslash, double quote and newline. */
function labelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(f: ContainerFigures, extra = ''): string {
  return `{id="${f.id}",name="${labelValue(f.name)}",image="${labelValue(f.image)}"${extra}}`;
}

export function prometheusText(containers: ContainerFigures[]): string {
  let out = '';
  for (const m of METRICS) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n`;
    for (const f of containers) {
      const v = m.value(f);
      if (v !== undefined) out += `${m.name}${labels(f)} ${v}\n`;
    }
  }
  const name = 'box_container_health_status';
  out += `# HELP ${name} 1 for the health state the container is in (containers with a health check)\n`;
  out += `# TYPE ${name} gauge\n`;
  for (const f of containers) {
    if (f.health === undefined) continue;
    for (const s of HEALTH_STATES) out += `${name}${labels(f, `,status="${s}"`)} ${+(f.health === s)}\n`;
  }
  return out;
}
