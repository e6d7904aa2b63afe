#!/usr/bin/env python3
"""The receiving end of runc's --console-socket, as containerd's shim or conmon holds it: listens on
the unix socket PATH, takes the pty master passed by SCM_RIGHTS, notes the window size it came
with, then reads the terminal until the container is done with it (EIO) or --timeout seconds pass.
Prints JSON: {"rows", "cols", "output"}. Usage: console-receiver.py PATH [--timeout S]"""
import argparse, array, fcntl, json, os, select, socket, struct, termios, time

p = argparse.ArgumentParser()
p.add_argument('path')
p.add_argument('--timeout', type=float, default=20)
a = p.parse_args()

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(a.path)
srv.listen(1)
srv.settimeout(a.timeout)
conn, _ = srv.accept()
fds = array.array('i')
msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
master = fds[0]
rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(master, termios.TIOCGWINSZ, b'\0' * 8))
out = b''
deadline = time.time() + a.timeout
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], max(0.0, deadline - time.time()))
    if not r:
        break
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: every slave end is closed
        break
    if not chunk:
        break
    out += chunk
print(json.dumps({'rows': rows, 'cols': cols, 'output': out.decode('utf8', 'replace')}))
