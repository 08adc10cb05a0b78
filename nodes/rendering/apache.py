"""Renderer of the WebRTC node's Apache site (manual §3.2.4): TLS and the three ``ProxyPass``
lines, merged into the installer's site file.

With no existing file the site is the manual's (``TEMPLATE``). With one, only the managed
directives of its TLS ``<VirtualHost>`` change — ``ServerName``, ``DocumentRoot``,
``SSLEngine``, ``SSLCertificateFile``, ``SSLCertificateKeyFile`` and the ``ProxyPass`` lines of
``/sercen``, ``/janus`` and ``/Vivait-FonBO`` — each where it is, keeping its indentation and
the spacing after the directive name; a missing one is added. An active
``SSLCertificateChainFile`` is commented out: the certificate file carries the chain (Apache
≥ 2.4.8). Every other byte (comments, other directives, other blocks) stays. Pure functions,
no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nodes.rendering.libconfig import check_string

SERCEN_PATH = "/sercen"
JANUS_PATH = "/janus"
FONBO_PATH = "/Vivait-FonBO"
PROXY_PATHS = (SERCEN_PATH, JANUS_PATH, FONBO_PATH)

_TOKEN = re.compile(r'^[^\s"\'\\<>]+\Z')


@dataclass(frozen=True, kw_only=True)
class ApacheSiteConfig:
    """What the portal manages in the site: every value one Apache token (no spaces, quotes
    or angle brackets; the model's validators give the user-facing messages)."""

    server_name: str
    document_root: str
    certificate_file: str
    key_file: str
    sercen_url: str  # e.g. http://127.0.0.1:7669/sercen
    janus_url: str  # e.g. http://127.0.0.1:8088/janus
    fonbo_url: str  # e.g. http://FONBO:8180/Vivait-FonBO

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            check_string(value, f"ApacheSiteConfig.{name}")
            if not _TOKEN.match(value):
                raise ValueError(f"ApacheSiteConfig.{name} is not one Apache token: {value!r}")

    def directives(self) -> list[tuple[str, str]]:
        return [
            ("DocumentRoot", self.document_root),
            ("ServerName", self.server_name),
            ("SSLEngine", "on"),
            ("SSLCertificateFile", self.certificate_file),
            ("SSLCertificateKeyFile", self.key_file),
        ]

    def proxies(self) -> list[tuple[str, str]]:
        return [
            (SERCEN_PATH, self.sercen_url),
            (JANUS_PATH, self.janus_url),
            (FONBO_PATH, self.fonbo_url),
        ]


TEMPLATE = """\
<IfModule mod_ssl.c>
    <VirtualHost _default_:443>
        #ServerAdmin webmaster@localhost

        DocumentRoot {document_root}

        ServerName {server_name}

        ErrorLog ${{APACHE_LOG_DIR}}/error.log
        CustomLog ${{APACHE_LOG_DIR}}/access.log combined

        SSLEngine on

        SSLCertificateFile    {certificate_file}
        SSLCertificateKeyFile {key_file}
        #SSLCertificateChainFile /etc/apache2/ssl.crt/server-ca.crt

        ProxyPass "/sercen" "{sercen_url}"
        ProxyPass "/janus" "{janus_url}"
        ProxyPass "/Vivait-FonBO" "{fonbo_url}"

        <FilesMatch "\\.(cgi|shtml|phtml|php)$">
                SSLOptions +StdEnvVars
        </FilesMatch>
        <Directory /usr/lib/cgi-bin>
                SSLOptions +StdEnvVars
        </Directory>
    </VirtualHost>
</IfModule>

# vim: syntax=apache ts=4 sw=4 sts=4 sr noet
"""


class ApacheSiteError(ValueError):
    """The existing site cannot be merged (no <VirtualHost> block)."""


_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<name>[A-Za-z][A-Za-z0-9_]*)(?P<gap>[ \t]+)(?P<args>.*?)(?P<end>[ \t]*\r?\n?)\Z"
)
_OPEN = re.compile(r"^\s*<(?!/)(?P<tag>[A-Za-z]+)(?P<args>[^>]*)>", re.ASCII)
_CLOSE = re.compile(r"^\s*</(?P<tag>[A-Za-z]+)\s*>", re.ASCII)


def _first_arg(args: str) -> str:
    args = args.strip()
    if args.startswith('"'):
        end = args.find('"', 1)
        return args[1:end] if end > 0 else args[1:]
    return args.split()[0] if args else ""


@dataclass
class _Site:
    lines: list[str]
    start: int  # index of the <VirtualHost> line
    end: int  # index of its </VirtualHost> line
    top: list[int]  # indexes of the lines directly inside it (not in nested blocks)


def _vhosts(lines: list[str]) -> list[_Site]:
    sites: list[_Site] = []
    depth = 0
    current: _Site | None = None
    for index, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        opened, closed = _OPEN.match(line), _CLOSE.match(line)
        if opened:
            if opened.group("tag").lower() == "virtualhost" and current is None:
                current = _Site(lines, index, -1, [])
                depth = 0
                continue
            if current is not None:
                depth += 1
            continue
        if closed:
            if current is not None:
                if closed.group("tag").lower() == "virtualhost" and depth == 0:
                    current.end = index
                    sites.append(current)
                    current = None
                else:
                    depth -= 1
            continue
        if current is not None and depth == 0:
            current.top.append(index)
    return sites


def _tls_site(sites: list[_Site]) -> _Site:
    for site in sites:
        header = site.lines[site.start]
        if ":443" in header or any(
            (m := _LINE.match(site.lines[i])) and m.group("name").lower() == "sslengine"
            for i in site.top
        ):
            return site
    return sites[0]


def _newline(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def render_apache_site(config: ApacheSiteConfig, existing: str | None = None) -> str:
    """The site file to push for ``config`` (see the module's docstring)."""
    if existing is None or not existing.strip():
        text = TEMPLATE.format(**vars(config))
        _verify(text, config)
        return text
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += _newline(lines)
    sites = _vhosts(lines)
    if not sites:
        raise ApacheSiteError("the Apache site has no <VirtualHost> block to manage")
    site = _tls_site(sites)
    eol = _newline(lines)
    indent = None
    found: dict[str, bool] = {}
    last_managed = site.start
    last_proxy = None
    for index in site.top:
        match = _LINE.match(lines[index])
        if not match:
            continue
        indent = indent if indent is not None else match.group("indent")
        name = match.group("name").lower()
        new_value = None
        for directive, value in config.directives():
            if name == directive.lower():
                new_value, found[directive] = value, True
        if name == "proxypass":
            path = _first_arg(match.group("args"))
            for proxy_path, url in config.proxies():
                if path == proxy_path:
                    new_value, found[proxy_path] = f'"{proxy_path}" "{url}"', True
            last_proxy = index
        if name == "sslcertificatechainfile":
            lines[index] = f"{match.group('indent')}#{lines[index][len(match.group('indent')) :]}"
        if new_value is not None:
            lines[index] = (
                f"{match.group('indent')}{match.group('name')}{match.group('gap')}{new_value}"
                f"{match.group('end') or eol}"
            )
            if name != "proxypass":
                last_managed = index
    indent = indent if indent is not None else "        "
    missing = [
        f"{indent}{directive} {value}{eol}"
        for directive, value in config.directives()
        if directive not in found
    ]
    missing_proxies = [
        f'{indent}ProxyPass "{path}" "{url}"{eol}'
        for path, url in config.proxies()
        if path not in found
    ]
    # Insert from the bottom up so earlier indexes stay valid.
    proxy_at = (last_proxy + 1) if last_proxy is not None else site.end
    directive_at = last_managed + 1
    for at, new in sorted(
        [(proxy_at, missing_proxies), (directive_at, missing)], key=lambda item: -item[0]
    ):
        lines[at:at] = new
    text = "".join(lines)
    _verify(text, config)
    return text


def site_values(text: str) -> dict[str, list[str]]:
    """The managed values the TLS site of ``text`` carries (directive → values, and each
    proxied path → its targets): what the renderer checks it wrote, and what tests read."""
    lines = text.splitlines(keepends=True)
    site = _tls_site(_vhosts(lines))
    values: dict[str, list[str]] = {}
    for index in site.top:
        match = _LINE.match(lines[index])
        if not match:
            continue
        name, args = match.group("name").lower(), match.group("args").strip()
        if name == "proxypass":
            parts = re.findall(r'"([^"]*)"|(\S+)', args)
            words = [a or b for a, b in parts]
            values.setdefault(words[0], []).append(words[1] if len(words) > 1 else "")
        else:
            values.setdefault(name, []).append(args)
    return values


def _verify(text: str, config: ApacheSiteConfig) -> None:
    values = site_values(text)
    expected = {d.lower(): [v] for d, v in config.directives()} | {
        p: [u] for p, u in config.proxies()
    }
    for key, wanted in expected.items():
        got = values.get(key, [])
        if not got or any(v != wanted[0] for v in got):
            raise RuntimeError(f"rendering bug: the Apache site's {key} reads back as {got!r}")
    if values.get("sslcertificatechainfile"):
        raise RuntimeError("rendering bug: an SSLCertificateChainFile is left active")
