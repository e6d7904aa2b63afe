// Owner tokens of temporary names (src/util/owner.ts), against real processes: a token names its
// process while it runs, and no longer once it has exited, even if its pid were taken again.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempNameFor } from '../../src/util/fs';
import { ownedName, ownerAlive, ownerOf, ownerToken } from '../../src/util/owner';

describe('owner tokens', () => {
  it("a temporary name carries this process's pid and start time, and reads back", () => {
    const token = ownerToken();
    expect(token).toMatch(new RegExp(`^${process.pid}\\.\\d+$`));
    const name = tempNameFor('/x/layers/abc');
    expect(name).toMatch(new RegExp(`^/x/layers/\\.tmp-abc-${token.replace('.', '\\.')}-[0-9a-f]{12}$`));
    expect(ownerOf(name)).toBe(token);
    expect(ownerOf(ownedName('.tmp-unpack-import-0123456789abcdef', 'ab12'))).toBe(token);
    expect(ownerOf('.tmp-unpack-0123-deadbeef0000')).toBeUndefined(); // made before tokens
    expect(ownerAlive(token)).toBe(true);
  });

  it('a process that exited, or another start time under the same pid, is not alive', async () => {
    const child = spawn('sleep', ['100'], { stdio: 'ignore' });
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const token = `${child.pid}.${start}`;
    expect(ownerAlive(token)).toBe(true);
    expect(ownerAlive(`${child.pid}.${Number(start) + 1}`)).toBe(false); // the pid reused by a later process
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(ownerAlive(token)).toBe(false);
  });
});
