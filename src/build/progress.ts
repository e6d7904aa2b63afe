// `box build --progress`: how the build shows its steps on stderr. plain is BuildKit's plain
// format, one `#N [stage k/n] INSTRUCTION` line per step, then its output lines prefixed `#N` with
// the seconds since the step started, then `#N DONE 0.4s` or `#N CACHED`; tty is compact, one
// line per finished step and a status line rewritten in place while a step runs (its output shown
// only when it fails); quiet shows nothing; auto is tty on a terminal, else plain.
import { BoxError } from '../errors';

export type ProgressMode = 'plain' | 'tty' | 'quiet';

export function parseProgress(value: string | undefined, isTty: boolean): ProgressMode {
  const v = value ?? 'auto';
  if (v === 'auto') return isTty ? 'tty' : 'plain';
  if (v === 'plain' || v === 'tty' || v === 'quiet') return v;
  throw new BoxError(`invalid --progress "${v}": use auto, plain, tty or quiet`);
}

/** One step's progress, from its start to its end. */
export interface StepProgress {
  /** the step's output (RUN): what plain prints line by line, what tty keeps for a failure */
  output: (chunk: Buffer) => void;
  cached(): void;
  done(): void;
  failed(): void;
}

export class Progress {
  private next = 1;
  /** tty: whether the status line is on the screen (the next line replaces it) */
  private status = false;

  constructor(
    readonly mode: ProgressMode,
    private readonly write: (text: string) => void,
  ) {}

  /** A step starts: `name` is its stage's ("" for the only, unnamed one), k of n its place there. */
  step(name: string, k: number, n: number, text: string): StepProgress {
    const no = this.next++;
    const title = `[${name ? `${name} ` : ''}${k}/${n}] ${text}`;
    const started = Date.now();
    const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
    let partial = '';
    const lines: string[] = [];
    if (this.mode === 'quiet') return { output: () => {}, cached: () => {}, done: () => {}, failed: () => {} };
    if (this.mode === 'plain') {
      this.write(`#${no} ${title}\n`);
      const flush = (all: boolean) => {
        const parts = partial.split('\n');
        partial = all ? '' : parts.pop()!;
        if (all && parts[parts.length - 1] === '') parts.pop();
        const at = ((Date.now() - started) / 1000).toFixed(3);
        for (const line of parts) this.write(`#${no} ${at} ${line}\n`);
      };
      return {
        output: (chunk) => {
          partial += chunk.toString('utf8');
          flush(false);
        },
        cached: () => this.write(`#${no} CACHED\n`),
        done: () => {
          flush(true);
          this.write(`#${no} DONE ${seconds()}s\n`);
        },
        failed: () => {
          flush(true);
          this.write(`#${no} ERROR after ${seconds()}s\n`);
        },
      };
    }
    this.showStatus(`[+] ${title}`);
    const end = (how: string) => {
      this.clearStatus();
      this.write(` => ${title}  ${how}\n`);
    };
    return {
      output: (chunk) => {
        partial += chunk.toString('utf8');
        const parts = partial.split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        const last = (parts.length ? parts[parts.length - 1] : partial).slice(0, 60);
        this.showStatus(`[+] ${title} ${seconds()}s: ${last}`);
      },
      cached: () => end('CACHED'),
      done: () => end(`${seconds()}s`),
      failed: () => {
        end(`ERROR after ${seconds()}s`);
        if (partial) lines.push(partial);
        for (const line of lines) this.write(`    ${line}\n`);
      },
    };
  }

  /** A line that is not a step's (a warning): on its own line, not into tty's status line. */
  message(line: string): void {
    this.clearStatus();
    this.write(`${line}\n`);
  }

  private showStatus(text: string): void {
    const width = Math.max(20, (process.stderr.columns || 80) - 1); // 0 on a terminal with no size
    this.write(`\r\x1b[K${text.length > width ? text.slice(0, width) : text}`);
    this.status = true;
  }

  private clearStatus(): void {
    if (this.status) this.write('\r\x1b[K');
    this.status = false;
  }
}
