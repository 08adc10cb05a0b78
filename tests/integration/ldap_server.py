"""A real OpenLDAP server (Debian's slapd) on a free loopback port, for tests.

Shaped like the manual's example directory (§5.2.1): an Active-Directory-like tree under
OU=DptoPoliciaLocalCentralizado,DC=aytoarga,DC=es with users found by sAMAccountName,
one of them in a nested OU, and a service account for the first bind.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SUFFIX = "DC=aytoarga,DC=es"
BASE_DN = f"OU=DptoPoliciaLocalCentralizado,{SUFFIX}"
ROOT_DN = f"CN=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-for-tests"
SERVICE_DN = f"CN=portal,OU=Servicios,{BASE_DN}"
SERVICE_PASSWORD = "service-secret-for-tests"

# AD's sAMAccountName is not in OpenLDAP's schemas; a tiny schema adds it.
SCHEMA = """
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'portalTestAccount' SUP top AUXILIARY
  MAY ( sAMAccountName ) )
"""

CONFIG = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {schema}
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/data
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
"""


@dataclass
class LdapUser:
    account: str
    password: str
    dn: str
    mail: str = ""


@dataclass
class LdapServer:
    uri: str
    base_dn: str = BASE_DN
    bind_dn: str = SERVICE_DN
    bind_password: str = SERVICE_PASSWORD
    users: dict[str, LdapUser] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    directory: Path | None = None

    def log(self) -> str:
        """What slapd logged (started with ``log=True``): "ACCEPT from IP=…" per connection,
        "BIND dn=…" per bind."""
        path = self.directory / "slapd.log" if self.directory else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def connections(self) -> int:
        return self.log().count(" ACCEPT from ")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


DEFAULT_USERS = (
    LdapUser("vivait", "Clave-LDAP-1", f"CN=vivait,OU=VivaIT,{BASE_DN}", "vivait@aytoarga.es"),
    LdapUser("agente1", "Clave-LDAP-2", f"CN=agente1,{BASE_DN}", "agente1@aytoarga.es"),
    LdapUser("raro*)(uid=*", "Clave-LDAP-3", f"CN=raro,OU=VivaIT,{BASE_DN}"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ldif(users: tuple[LdapUser, ...]) -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: aytoarga\no: Ayuntamiento",
        f"dn: {BASE_DN}\nobjectClass: organizationalUnit\nou: DptoPoliciaLocalCentralizado",
        f"dn: OU=VivaIT,{BASE_DN}\nobjectClass: organizationalUnit\nou: VivaIT",
        f"dn: OU=Servicios,{BASE_DN}\nobjectClass: organizationalUnit\nou: Servicios",
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: portal\nsn: portal\nuserPassword: {SERVICE_PASSWORD}",
    ]
    for user in users:
        cn = user.dn.split(",", 1)[0].split("=", 1)[1]
        mail = f"\nmail: {user.mail}" if user.mail else ""
        blocks.append(
            f"dn: {user.dn}\nobjectClass: inetOrgPerson\nobjectClass: portalTestAccount\n"
            f"cn: {cn}\nsn: {cn}\nsAMAccountName: {user.account}\nuserPassword: {user.password}{mail}"
        )
    return "\n\n".join(blocks) + "\n"


def start_ldap_server(
    users: tuple[LdapUser, ...] = DEFAULT_USERS,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log: bool = False,
) -> LdapServer:
    """``host``: the loopback address it listens on (127.0.0.2 is another host for a test), on
    ``port`` (a free one if 0).
    ``log``: record every connection and bind (slapd's "stats" level) in ``slapd.log``, read
    with :meth:`LdapServer.log`."""
    directory = Path(tempfile.mkdtemp(prefix="portal-slapd-"))
    (directory / "data").mkdir()
    (directory / "test.schema").write_text(SCHEMA)
    (directory / "slapd.conf").write_text(
        CONFIG.format(
            schema=directory / "test.schema",
            dir=directory,
            suffix=SUFFIX,
            rootdn=ROOT_DN,
            rootpw=ROOT_PASSWORD,
        )
    )
    port = port or free_port()
    uri = f"ldap://{host}:{port}"
    log_file = open(directory / "slapd.log", "wb") if log else subprocess.PIPE  # noqa: SIM115
    process = subprocess.Popen(
        [SLAPD, "-f", str(directory / "slapd.conf"), "-h", f"{uri}/", "-d", "256" if log else "0"],
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    if log:
        log_file.close()  # slapd has its own copy
    server = LdapServer(uri=uri, process=process, directory=directory)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            output = process.stderr.read() if process.stderr else server.log().encode()
            raise RuntimeError(f"slapd exited: {output.decode(errors='replace')}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("slapd did not start listening within 15 s") from None
            time.sleep(0.1)
    (directory / "data.ldif").write_text(_ldif(users))
    subprocess.run(
        [
            "/usr/bin/ldapadd",
            "-x",
            "-H",
            uri,
            "-D",
            ROOT_DN,
            "-w",
            ROOT_PASSWORD,
            "-f",
            str(directory / "data.ldif"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    server.users = {user.account: user for user in users}
    return server
