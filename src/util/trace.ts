// BOX_TRACE=1 prints where a command's time goes (milliseconds since the process started), so
// start-up latency can be explained, not guessed. Costs one property read when off.
const enabled = process.env.BOX_TRACE === '1';
const marks: [string, number][] = [];

export function mark(label: string): void {
  if (enabled) marks.push([label, performance.now()]);
}

export function flushTrace(): void {
  if (!enabled || marks.length === 0) return;
  let prev = 0;
  const lines = marks.map(([label, t]) => {
    const line = `  ${t.toFixed(1).padStart(7)} ms  +${(t - prev).toFixed(1).padStart(5)}  ${label}`;
    prev = t;
    return line;
  });
  process.stderr.write(`box trace:\n${lines.join('\n')}\n`);
}
