#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal of a given size, the way a user's terminal would, and
reports what it printed as JSON: {"output", "status", "termiosRestored"}.

--send-after TEXT --send BYTES      type BYTES once TEXT has appeared
--resize-after TEXT --resize RxC    change the window size once TEXT appeared (the kernel signals SIGWINCH)
--hangup-after TEXT                 close the terminal's master once TEXT appeared (an ssh session dropped:
                                    the kernel hangs the terminal up), then wait for the command to end
--step EXPECT BYTES                 (repeatable, in order) type BYTES once EXPECT has appeared after
                                    the previous step's; EXPECT "@raw": once the command has put the
                                    terminal in raw mode (no ICANON); the terminal's
                                    modes at that moment are reported as "rawModes"
The whole run is bounded by --timeout seconds."""
import argparse, fcntl, json, os, pty, select, signal, struct, sys, termios, time

p = argparse.ArgumentParser()
p.add_argument('--rows', type=int, default=24)
p.add_argument('--cols', type=int, default=80)
p.add_argument('--send-after')
p.add_argument('--send')
p.add_argument('--resize-after')
p.add_argument('--resize')
p.add_argument('--hangup-after')
p.add_argument('--step', nargs=2, action='append', default=[], metavar=('EXPECT', 'BYTES'))
p.add_argument('--timeout', type=float, default=20)
p.add_argument('cmd', nargs=argparse.REMAINDER)
a = p.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd

master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', a.rows, a.cols, 0, 0))
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.execvp(cmd[0], cmd)

out = b''
sent = resized = False
steps_done, step_from = 0, 0
raw_modes = None
hung_up = None
deadline = time.time() + a.timeout
status = None
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if master in r:
        try:
            data = os.read(master, 4096)
        except OSError:
            data = b''
        if not data:
            break
        out += data
    text = out.decode('utf-8', 'replace')
    if a.send_after and not sent and a.send_after in text:
        os.write(master, a.send.encode())
        sent = True
    while steps_done < len(a.step):
        expect, data = a.step[steps_done]
        if expect == '@raw':
            iflag, oflag, _, lflag = termios.tcgetattr(slave)[:4]
            if lflag & termios.ICANON:
                break
            raw_modes = {'icanon': False, 'echo': bool(lflag & termios.ECHO), 'isig': bool(lflag & termios.ISIG),
                         'icrnl': bool(iflag & termios.ICRNL), 'opost': bool(oflag & termios.OPOST)}
        else:
            at = text.find(expect, step_from)
            if at < 0:
                break
            step_from = at + len(expect)
        os.write(master, data.encode())
        steps_done += 1
    if a.resize_after and not resized and a.resize_after in text:
        rows, cols = (int(x) for x in a.resize.split('x'))
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
        resized = True
    if a.hangup_after and a.hangup_after in text:
        os.close(master)
        hung_up = time.time()
        while status is None and time.time() < deadline:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            else:
                time.sleep(0.05)
        break
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        # drain what is left
        while True:
            r, _, _ = select.select([master], [], [], 0.1)
            if master not in r:
                break
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        break
if status is None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
try:
    after = termios.tcgetattr(slave)
except termios.error:
    after = None  # hung up

print(json.dumps({
    'output': out.decode('utf-8', 'replace'),
    'status': os.waitstatus_to_exitcode(status),
    'termiosRestored': before == after,
    'steps': steps_done,
    'rawModes': raw_modes,
    'secondsAfterHangup': None if hung_up is None else round(time.time() - hung_up, 2),
}))
