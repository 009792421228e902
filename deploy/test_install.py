#!/usr/bin/env python3
"""deploy/install.sh, run into temporary roots: what it lays out, that a
second run changes nothing, and that an operator's edits survive.

Runs in a second or two, needs no systemd and no root (as root it also
checks the script as an unprivileged user). `python3 deploy/test_install.py`.
"""

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
SCRIPT = DEPLOY / "install.sh"
FAKE_SERVER = b"#!/bin/sh\necho yail-server 0.1.0\n"


def snapshot(root: Path) -> dict:
    """Every path under root with its type, mode, owner and content hash."""
    result = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = ""
        if stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        result[str(path.relative_to(root))] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            digest,
        )
    return result


class InstallScript(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="yail-install-test-"))
        self.root = self.tmp / "root"
        self.binary = self.tmp / "yail-server"
        self.binary.write_bytes(FAKE_SERVER)
        self.binary.chmod(0o755)
        # A systemctl that records being called: with --root the script
        # must never touch the machine's services.
        fake_bin = self.tmp / "bin"
        fake_bin.mkdir()
        self.systemctl_log = self.tmp / "systemctl.log"
        systemctl = fake_bin / "systemctl"
        systemctl.write_text(f'#!/bin/sh\necho "$@" >> {self.systemctl_log}\n')
        systemctl.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{fake_bin}:{os.environ.get('PATH', '')}")
        self.env.pop("DESTDIR", None)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def install(self, *args, root=None, check=True, user=None):
        cmd = ["bash", str(SCRIPT), "--root", str(root or self.root), "--binary", str(self.binary), *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups", *cmd]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(proc.returncode, 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def test_lays_out_binary_user_settings_and_unit(self):
        self.install("--lan", "192.168.1.0/24")
        r = self.root
        server = r / "usr/local/bin/yail-server"
        self.assertEqual(server.read_bytes(), FAKE_SERVER)
        self.assertEqual(stat.S_IMODE(server.stat().st_mode), 0o755)

        passwd = [line.split(":") for line in (r / "etc/passwd").read_text().splitlines()]
        yail = [entry for entry in passwd if entry[0] == "yail"]
        self.assertEqual(len(yail), 1, passwd)
        self.assertLess(int(yail[0][2]), 1000, "a system user")
        self.assertEqual(yail[0][6], "/usr/sbin/nologin")
        groups = [line.split(":")[0] for line in (r / "etc/group").read_text().splitlines()]
        self.assertIn("yail", groups)

        etc = r / "etc/yail"
        self.assertEqual(stat.S_IMODE(etc.stat().st_mode), 0o750)
        env_file = etc / "yail-server.env"
        self.assertEqual(env_file.read_bytes(), (DEPLOY / "yail-server.env.example").read_bytes())
        self.assertEqual(stat.S_IMODE(env_file.stat().st_mode), 0o600)
        settings = etc / "yail.toml"
        self.assertEqual(settings.read_bytes(), (DEPLOY / "yail.toml.example").read_bytes())
        self.assertEqual(stat.S_IMODE(settings.stat().st_mode), 0o640)
        if os.geteuid() == 0:
            yail_gid = int(yail[0][3])
            self.assertEqual((etc.stat().st_uid, etc.stat().st_gid), (0, yail_gid))
            self.assertEqual((env_file.stat().st_uid, env_file.stat().st_gid), (0, 0))
            # The server reads it and may not change it.
            self.assertEqual((settings.stat().st_uid, settings.stat().st_gid), (0, yail_gid))

        unit = r / "etc/systemd/system/yail-server.service"
        self.assertEqual(unit.read_bytes(), (DEPLOY / "yail-server.service").read_bytes())
        self.assertEqual(stat.S_IMODE(unit.stat().st_mode), 0o644)
        unit_text = unit.read_text()
        self.assertIn("--config /etc/yail/yail.toml", unit_text)
        self.assertIn("--runtime-file /var/lib/yail/runtime.toml", unit_text)
        self.assertIn("\nStateDirectory=yail\n", unit_text)
        self.assertNotIn("ReadWritePaths", unit_text, "the server writes only its state directory")
        lan = (r / "etc/systemd/system/yail-server.service.d/lan.conf").read_text()
        self.assertIn("\nIPAddressAllow=192.168.1.0/24\n", lan)
        self.assertFalse(self.systemctl_log.exists(), "systemctl was called for a --root install")

    def test_second_run_changes_nothing(self):
        self.install("--lan", "192.168.1.0/24")
        first = snapshot(self.root)
        second_run = self.install("--lan", "192.168.1.0/24")
        self.assertEqual(snapshot(self.root), first)
        self.assertNotIn("installed", second_run.stdout)
        self.assertNotIn("created", second_run.stdout)

    def test_edited_settings_and_lan_survive_a_rerun(self):
        self.install("--lan", "192.168.1.0/24")
        env_file = self.root / "etc/yail/yail-server.env"
        env_file.write_text("YAIL_PORT=6000\nOPENAI_API_KEY=sk-operator\n")
        settings = self.root / "etc/yail/yail.toml"
        settings.write_text("max_per_ip = 16\n")
        lan = self.root / "etc/systemd/system/yail-server.service.d/lan.conf"
        lan.write_text("[Service]\nIPAddressAllow=10.1.2.0/24\n")
        self.install()
        self.assertEqual(env_file.read_text(), "YAIL_PORT=6000\nOPENAI_API_KEY=sk-operator\n")
        self.assertEqual(settings.read_text(), "max_per_ip = 16\n")
        self.assertEqual(lan.read_text(), "[Service]\nIPAddressAllow=10.1.2.0/24\n")
        # An explicit --lan is a request to rewrite the LAN list.
        self.install("--lan", "none")
        self.assertNotIn("\nIPAddressAllow=", lan.read_text())

    def test_a_new_binary_replaces_the_old(self):
        self.install("--lan", "none")
        self.binary.write_bytes(FAKE_SERVER + b"# 0.1.1\n")
        proc = self.install()
        self.assertEqual((self.root / "usr/local/bin/yail-server").read_bytes(), FAKE_SERVER + b"# 0.1.1\n")
        self.assertIn("installed /usr/local/bin/yail-server", proc.stdout)

    def test_default_lan_is_written_and_valid(self):
        self.install()
        lan = (self.root / "etc/systemd/system/yail-server.service.d/lan.conf").read_text()
        self.assertIn("[Service]", lan)
        for line in lan.splitlines():
            if line.startswith("IPAddressAllow="):
                address = line.split("=", 1)[1]
                self.assertRegex(address, r"^(10\.|172\.|192\.168\.|100\.|f[cd])", "only private networks are allowed")

    def test_destdir_is_a_root_too(self):
        env = dict(self.env, DESTDIR=str(self.root))
        proc = subprocess.run(
            ["bash", str(SCRIPT), "--binary", str(self.binary), "--lan", "none"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue((self.root / "usr/local/bin/yail-server").is_file())
        self.assertFalse(self.systemctl_log.exists())

    def test_unknown_option_is_refused(self):
        proc = self.install("--prefix", "/opt", check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown option '--prefix'", proc.stderr)
        self.assertFalse((self.root / "usr").exists())

    def test_missing_binary_is_refused(self):
        self.binary.unlink()
        proc = self.install("--lan", "none", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no such binary", proc.stderr)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root to switch to an unprivileged user")
    def test_runs_without_root_into_a_root_dir(self):
        nobody = pwd.getpwnam("nobody")
        self.tmp.chmod(0o755)
        root = self.tmp / "nobody-root"
        root.mkdir()
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        self.binary.chmod(0o755)
        self.install("--lan", "none", root=root, user="nobody")
        first = snapshot(root)
        self.install("--lan", "none", root=root, user="nobody")
        self.assertEqual(snapshot(root), first)
        self.assertTrue((root / "usr/local/bin/yail-server").is_file())
        self.assertIn("yail:", (root / "etc/passwd").read_text())

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root to switch to an unprivileged user")
    def test_refuses_the_real_root_without_privileges(self):
        self.tmp.chmod(0o755)
        proc = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
             "bash", str(SCRIPT), "--binary", str(self.binary)],
            env=self.env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(proc.returncode, 1)
        self.assertIn("run as root", proc.stderr)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_installed_unit_passes_systemd_analyze_verify(self):
        self.install("--lan", "192.168.1.0/24")
        units = self.root / "etc/systemd/system"
        # verify wants ExecStart to exist on this machine: point it at the
        # installed stand-in.
        unit = units / "yail-server.service"
        unit.write_text(unit.read_text().replace(
            "ExecStart=/usr/local/bin/yail-server", f"ExecStart={self.root}/usr/local/bin/yail-server"))
        proc = subprocess.run(
            ["systemd-analyze", "verify", "yail-server.service"],
            env=dict(self.env, SYSTEMD_UNIT_PATH=f"{units}:"),
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.strip(), "", "systemd-analyze found problems")


if __name__ == "__main__":
    unittest.main(verbosity=2)
