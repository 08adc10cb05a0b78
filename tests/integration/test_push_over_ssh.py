"""The push protocol over a real SSH server (sshd on loopback) to a fake node's tree."""

import os

import pytest

from nodes.models import Node, Push
from nodes.push import ManagedFile, push_execute
from nodes.transport import SshTransport
from tests.factories import WebrtcNodeFactory
from tests.nodes.fake_node import calls, fake_node_settings, make_fake_node

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(ssh_webrtc_node, tmp_path):
    make_fake_node(tmp_path / "node")
    return ssh_webrtc_node()


def transport_to(server) -> SshTransport:
    """An SFTP/SSH connection to one of the tests' sshd, as a push opens it."""
    return SshTransport(
        host="127.0.0.1",
        port=server.port,
        user=server.user,
        private_key=server.private_key,
        host_key=server.host_key,
    )


def run(node, text, mode=0o600):
    push = Push.objects.create(node=node, reasons=["test"])
    files = [
        ManagedFile(path=node.janus_jcfg_path, daemon="janus", render=lambda _old: text, mode=mode)
    ]
    push_execute(push_id=push.pk, files_for=lambda _node: files)
    push.refresh_from_db()
    return push


def test_push_writes_restarts_and_then_is_unchanged(node, tmp_path):
    root = tmp_path / "node"
    (root / "etc/janus").mkdir(parents=True)
    (root / "etc/janus/janus.jcfg").write_text("old\n")
    (root / "etc/janus/janus.jcfg").chmod(0o644)
    push = run(node, "new\n", mode=0o640)
    assert push.status == "applied", push.detail
    assert (root / "etc/janus/janus.jcfg").read_text() == "new\n"
    # The mode is the node's setting, not the one the older file had.
    assert oct((root / "etc/janus/janus.jcfg").stat().st_mode & 0o777) == "0o640"
    assert (root / "etc/janus/janus.jcfg.portal-backup").read_text() == "old\n"
    assert calls(root) == ["janus restart", "janus status"]
    assert run(node, "new\n", mode=0o640).status == "unchanged"
    assert calls(root) == ["janus restart", "janus status"]
    # Only the mode differs (the node's setting changed, or someone ran chmod on the node):
    # set over SFTP, nothing restarted.
    push = run(node, "new\n", mode=0o600)
    assert push.status == "applied" and "0640 → 0600" in push.detail
    assert oct((root / "etc/janus/janus.jcfg").stat().st_mode & 0o777) == "0o600"
    assert calls(root) == ["janus restart", "janus status"]
    assert run(node, "new\n", mode=0o600).status == "unchanged"


def test_failed_restart_rolls_back(node, tmp_path):
    root = tmp_path / "node"
    run(node, "v1\n")
    (root / "fail-janus-restart").touch()
    push = run(node, "v2\n")
    assert push.status == "rolled_back"
    assert (root / "etc/janus/janus.jcfg").read_text() == "v1\n"


def test_changed_host_key_refuses_the_push(node, tmp_path):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJtq0Kk3b3q2l8yX8m4Rk1iC0b0dJ8K9k0m6u4o1Q2a"
    Node.objects.filter(pk=node.pk).update(ssh_host_key=other)
    node.refresh_from_db()
    push = run(node, "v2\n")
    assert push.status == "failed" and "clave de host SSH" in push.detail
    assert not (tmp_path / "node/etc/janus/janus.jcfg").exists()


def test_a_host_key_of_another_type_is_a_changed_key_not_an_unreachable_node(node, tmp_path):
    """The node now offers only an ECDSA key where an ed25519 one is recorded: refused at once
    as a changed key (never retried as if the node were down), and nothing is written."""
    from tests.integration.ssh_server import start_ssh_server

    server = start_ssh_server()
    try:
        recorded = server.host_key
        server.replace_host_key("ecdsa")
        Node.objects.filter(pk=node.pk).update(ssh_port=server.port, ssh_host_key=recorded)
        node.refresh_from_db()
        node.secret_bind("ssh_private_key")  # the key entered again for the new port
        node.save()
        push = run(node, "v2\n")
        assert push.status == "failed" and push.attempts == 1
        assert "ha cambiado" in push.detail and "ecdsa-sha2-nistp256" in push.detail
        assert not (tmp_path / "node/etc/janus/janus.jcfg").exists()
    finally:
        server.cleanup()


def test_first_contact_records_the_host_key(node, ssh_server):
    Node.objects.filter(pk=node.pk).update(ssh_host_key="")
    node.refresh_from_db()
    assert run(node, "v1\n").status == "applied"
    node.refresh_from_db()
    assert node.ssh_host_key == ssh_server.host_key


def test_unreachable_node_raises_for_retry_and_is_pending_again(node):
    from nodes.push import NodeUnreachable
    from tests.integration.ssh_server import free_port

    Node.objects.filter(pk=node.pk).update(ssh_port=free_port())
    node.refresh_from_db()
    node.secret_bind("ssh_private_key")  # the key entered again for the new port
    node.save()
    push = Push.objects.create(node=node, reasons=["test"])
    with pytest.raises(NodeUnreachable):
        push_execute(push_id=push.pk, files_for=lambda _n: [])
    push.refresh_from_db()
    assert push.status == "pending" and push.attempts == 1


def test_ssh_transport_uses_cheap_algorithms_no_nagle_and_hard_linked_backups(ssh_server, tmp_path):
    import socket

    transport = transport_to(ssh_server)
    try:
        ssh = transport.client.get_transport()
        assert ssh.local_cipher == ssh.remote_cipher == "aes128-gcm@openssh.com"
        assert ssh.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        target = tmp_path / "deep/er/file.conf"
        transport.write_atomic(str(target), "v1\n", f"{target}.bak")  # parents made over SFTP
        target.chmod(0o644)
        old_inode = target.stat().st_ino
        transport.write_atomic(str(target), "v2\n", f"{target}.bak", mode=0o640)
        backup = tmp_path / "deep/er/file.conf.bak"
        assert backup.read_text() == "v1\n" and backup.stat().st_ino == old_inode
        assert target.read_text() == "v2\n" and target.stat().st_mode & 0o777 == 0o640
        assert backup.stat().st_mode & 0o777 == 0o640  # the old file held a secret too
        assert not list(target.parent.glob("*tmp*"))
        transport.restore(str(target), f"{target}.bak")
        assert target.read_text() == "v1\n" and backup.read_text() == "v1\n"
    finally:
        transport.close()


@pytest.fixture(scope="module")
def permissive_sftp():
    """An sshd whose SFTP server creates files world-readable unless told otherwise."""
    from tests.integration.ssh_server import start_ssh_server

    server = start_ssh_server(sftp_umask="0000")
    yield server
    server.cleanup()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_files_get_the_mode_asked_whatever_the_sftp_servers_umask(permissive_sftp, tmp_path, mode):
    """Issue #12, point 10: the mode is set explicitly over SFTP, on the new file, its backup
    and a restored file; the server's default (0666 here) never applies."""
    transport = transport_to(permissive_sftp)
    target, backup = tmp_path / "etc/MDtel/serCen.conf", tmp_path / "etc/MDtel/serCen.conf.bak"
    try:
        transport.write_atomic(str(target), 'smtp_clave = "uno"\n', str(backup), mode=mode)
        assert target.stat().st_mode & 0o777 == mode
        target.chmod(0o666)  # an older file, readable by everyone
        transport.write_atomic(str(target), 'smtp_clave = "dos"\n', str(backup), mode=mode)
        assert target.stat().st_mode & 0o777 == mode
        assert backup.stat().st_mode & 0o777 == mode
        transport.restore(str(target), str(backup))
        assert target.read_text() == 'smtp_clave = "uno"\n'
        assert target.stat().st_mode & 0o777 == mode
        assert not list(target.parent.glob("*tmp*"))
    finally:
        transport.close()


def test_a_push_over_sftp_writes_secret_files_0600_or_as_the_node_says(
    permissive_sftp, tmp_path, corporate
):
    from nodes.config_files import node_managed_files

    root = make_fake_node(tmp_path / "node")
    node = WebrtcNodeFactory(
        name="meet",
        transport="ssh",
        address="127.0.0.1",
        local_ip="192.0.2.31",
        corporate_node=corporate,
        ssh_port=permissive_sftp.port,
        ssh_user=permissive_sftp.user,
        ssh_private_key=permissive_sftp.private_key,
        ssh_host_key=permissive_sftp.host_key,
        **fake_node_settings(root, commands=False),
        webfon_jcfg_mode="0640",
        smtp_password="clave-smtp",
        mysql_password="clave-mysql",
    )
    push = Push.objects.create(node=node, reasons=["test"])
    assert push_execute(push_id=push.pk, files_for=node_managed_files) == "applied"
    modes = {
        str(path.relative_to(root)): path.stat().st_mode & 0o777
        for path in root.rglob("*")
        if path.is_file() and path.suffix in {".conf", ".jcfg"}
    }
    assert modes.pop("etc/MDtel/serCen.conf") == 0o600
    assert modes.pop("etc/janus/vivait.plugin.webfon.jcfg") == 0o640
    assert set(modes.values()) == {0o644}, modes  # janus.jcfg and fail2ban: no secret


def test_a_replaced_file_keeps_its_owner_and_group_over_sftp(ssh_server, tmp_path):
    """A file the installer gave to a daemon's group (chown root:janus, 0640) stays the
    group's after a push writes it, in its backup, and after a rollback restores it."""
    transport = transport_to(ssh_server)
    target = tmp_path / "etc/janus/vivait.plugin.webfon.jcfg"
    backup = tmp_path / "etc/janus/vivait.plugin.webfon.jcfg.bak"
    owner = (4321, 4322)  # ids of nobody on this machine: only the numbers matter
    try:
        transport.write_atomic(str(target), "uno\n", str(backup), mode=0o640)
        os.chown(target, *owner)
        transport.write_atomic(str(target), "dos\n", str(backup), mode=0o640)
        assert target.read_text() == "dos\n"
        assert (target.stat().st_uid, target.stat().st_gid) == owner
        assert (backup.stat().st_uid, backup.stat().st_gid) == owner
        os.chown(target, 0, 0)
        transport.restore(str(target), str(backup))  # a rollback copies the backup back
        assert target.read_text() == "uno\n"
        assert (target.stat().st_uid, target.stat().st_gid) == owner
        assert target.stat().st_mode & 0o777 == 0o640
    finally:
        transport.close()
