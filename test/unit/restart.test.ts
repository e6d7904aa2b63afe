import { describe, expect, it } from 'vitest';
import { decideRestart, parseRestart } from '../../src/runtime/restart';
import { ContainerRecord } from '../../src/model';

const record = (restart: string, state: Partial<ContainerRecord['state']>, delay?: string): ContainerRecord =>
  ({
    id: 'x',
    name: 'x',
    autoRemove: false,
    config: { restart: parseRestart(restart, delay) },
    state: { status: 'exited', ...state },
  }) as unknown as ContainerRecord;
const ran = (ms: number) => ({ startedAt: new Date(0).toISOString(), finishedAt: new Date(ms).toISOString() });

describe('restart policies', () => {
  it('parses policies and delays', () => {
    expect(parseRestart('on-failure:5', undefined)).toMatchObject({
      name: 'on-failure',
      maxRetries: 5,
      baseMs: 100,
      maxMs: 60000,
      resetMs: 10000,
    });
    expect(parseRestart('always', '1s,30s,1m')).toMatchObject({ baseMs: 1000, maxMs: 30000, resetMs: 60000 });
    expect(() => parseRestart('always:3', undefined)).toThrow(/invalid --restart/);
    expect(() => parseRestart('no', '1m,1s')).toThrow(/maximum is below/);
  });
  it("follows Docker's rule: 100 ms doubling to 1 minute, reset after 10 s of running", () => {
    expect(decideRestart(record('always', { exitCode: 0, ...ran(50) }))).toEqual({ restart: true, delayMs: 100 });
    expect(decideRestart(record('always', { exitCode: 1, restartDelayMs: 100, ...ran(50) })).delayMs).toBe(200);
    expect(decideRestart(record('always', { exitCode: 1, restartDelayMs: 40000, ...ran(50) })).delayMs).toBe(60000);
    expect(decideRestart(record('always', { exitCode: 1, restartDelayMs: 40000, ...ran(10000) })).delayMs).toBe(100);
  });
  it('on-failure restarts only failures, up to N times; nothing restarts after a user stop', () => {
    expect(decideRestart(record('on-failure', { exitCode: 0, ...ran(5) })).restart).toBe(false);
    expect(decideRestart(record('on-failure:2', { exitCode: 1, restartCount: 1, ...ran(5) })).restart).toBe(true);
    expect(decideRestart(record('on-failure:2', { exitCode: 1, restartCount: 2, ...ran(5) })).restart).toBe(false);
    expect(decideRestart(record('unless-stopped', { exitCode: 137, stoppedByUser: true, ...ran(5) })).restart).toBe(
      false,
    );
    expect(decideRestart(record('no', { exitCode: 1, ...ran(5) })).restart).toBe(false);
  });
});
