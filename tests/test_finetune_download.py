"""Verified downloads, for real, against an HTTP server on 127.0.0.1: a good file is kept;
a corrupted file, a truncated transfer or a missing file leaves nothing and names the file."""

import argparse
import functools
import hashlib
import http.server
import threading

import pytest

from krelectra.errors import KrelectraError
from krelectra.finetune.cli_data import register_data_commands
from krelectra.finetune.download import PROJECT_MANIFEST, download, git_blob_sha1, read_manifest, upstream_identity

CONTENT = ("id\tdocument\tlabel\n" + "".join(f"{i}\t정말 재미있는 영화 {i}\t1\n" for i in range(300))).encode("utf-8")
TRUNCATED_PATH = "/nsmc/truncated.txt"


def blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == TRUNCATED_PATH:
            # Announce the whole file, send half of it, then hang up.
            self.send_response(200)
            self.send_header("Content-Length", str(len(CONTENT)))
            self.end_headers()
            self.wfile.write(CONTENT[: len(CONTENT) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    (root / "nsmc").mkdir(parents=True)
    (root / "nsmc" / "good.txt").write_bytes(CONTENT)
    (root / "nsmc" / "wrong-size.txt").write_bytes(CONTENT)  # the manifest expects one more byte
    corrupted = bytearray(CONTENT)
    corrupted[100] ^= 0x01  # one flipped bit, same size
    (root / "nsmc" / "corrupt.txt").write_bytes(bytes(corrupted))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def manifest(tmp_path, server):
    sha1 = blob_sha1(CONTENT)
    rows = [
        ("good.txt", sha1, str(len(CONTENT)), hashlib.sha256(CONTENT).hexdigest()),
        ("corrupt.txt", sha1, "", ""),
        ("truncated.txt", sha1, "", ""),
        ("missing.txt", sha1, "", ""),
        ("wrong-size.txt", sha1, str(len(CONTENT) + 1), ""),
    ]
    path = tmp_path / "manifest.tsv"
    lines = ["task\tfile\turl\tgit_blob_sha1\tbytes\tsha256"]
    lines += [f"nsmc\t{name}\t{server}/nsmc/{name}\t{digest}\t{size}\t{sha256}" for name, digest, size, sha256 in rows]
    lines.append(f"nsmc\tpinned.txt\t{server}/nsmc/good.txt\t{sha1}\t\t")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_git_blob_sha1_is_gits_object_id(tmp_path):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_sha1(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object hello.txt`
    path.write_bytes(CONTENT)
    assert git_blob_sha1(path) == blob_sha1(CONTENT)


def test_upstream_identity_compares_every_file_with_the_manifest(tmp_path, manifest):
    good, other = tmp_path / "good.txt", tmp_path / "other.txt"
    good.write_bytes(CONTENT)
    other.write_bytes(CONTENT + b"x")
    assert upstream_identity("nsmc", {"good.txt": good}, manifest) == (True, {"good.txt": blob_sha1(CONTENT)})
    assert upstream_identity("nsmc", {"good.txt": good, "corrupt.txt": other}, manifest)[0] is False
    assert upstream_identity("nsmc", {"unlisted.txt": good}, manifest)[0] is False
    assert upstream_identity("nsmc", {"good.txt": good}, tmp_path / "no-manifest.tsv")[0] is None
    # The shipped fixtures are our stand-ins, not the upstream files.
    fixtures = PROJECT_MANIFEST.parent / "nsmc"
    files = {name: fixtures / name for name in ("ratings_train.txt", "ratings_test.txt")}
    assert upstream_identity("nsmc", files)[0] is False


def test_good_file_is_verified_and_kept(tmp_path, server, manifest):
    output = tmp_path / "out" / "nsmc" / "good.txt"
    assert download("nsmc", "good.txt", output, manifest=manifest, base_url=server, timeout=5) == output
    assert output.read_bytes() == CONTENT
    assert [p.name for p in output.parent.iterdir()] == ["good.txt"]  # no temporary file left


def test_the_pinned_address_from_the_manifest_is_used_without_a_base_url(tmp_path, manifest):
    output = tmp_path / "pinned.txt"
    download("nsmc", "pinned.txt", output, manifest=manifest, timeout=5)
    assert output.read_bytes() == CONTENT


@pytest.mark.parametrize(
    "name, message",
    [
        ("corrupt.txt", "git blob SHA-1 mismatch"),
        ("truncated.txt", f"transfer broken: received {len(CONTENT) // 2} of {len(CONTENT)} bytes"),
        ("missing.txt", "HTTP 404"),
        ("wrong-size.txt", f"{len(CONTENT)} bytes, expected {len(CONTENT) + 1}"),
    ],
)
def test_failed_download_leaves_no_file_and_names_it(tmp_path, server, manifest, name, message):
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / name
    output.write_bytes(b"a stale copy from an earlier run")
    with pytest.raises(KrelectraError) as error:
        download("nsmc", name, output, manifest=manifest, base_url=server, timeout=5)
    assert f"nsmc/{name}" in str(error.value) and message in str(error.value)
    assert list(folder.iterdir()) == []


def test_unreachable_server_names_the_file(tmp_path, manifest):
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = tmp_path / "good.txt"
    with pytest.raises(KrelectraError, match=r"nsmc/good\.txt .*cannot connect"):
        download("nsmc", "good.txt", output, manifest=manifest, base_url=f"http://127.0.0.1:{port}", timeout=5)
    assert not output.exists()


def test_file_not_in_manifest(tmp_path, manifest):
    with pytest.raises(KrelectraError, match=r"no entry for nsmc/other.txt"):
        download("nsmc", "other.txt", tmp_path / "x", manifest=manifest)


def test_download_command(tmp_path, server, manifest):
    parser = argparse.ArgumentParser()
    register_data_commands(parser.add_subparsers())
    output = tmp_path / "cli" / "good.txt"
    args = parser.parse_args(
        [
            "download",
            "--task",
            "nsmc",
            "--file",
            "good.txt",
            "--output",
            str(output),
            "--manifest",
            str(manifest),
            "--base-url",
            server,
        ]
    )
    args.func(args)
    assert output.read_bytes() == CONTENT


def test_malformed_manifest_names_the_line(tmp_path):
    path = tmp_path / "manifest.tsv"
    path.write_text("task\tfile\turl\tgit_blob_sha1\tbytes\tsha256\nnsmc\ta.txt\thttp://x/a\tNOTHEX\t\t\n")
    with pytest.raises(KrelectraError, match=r"manifest.tsv:2: git_blob_sha1 'NOTHEX'"):
        read_manifest(path)


SNAKEFILE = """
import sys
RESULTS = config["results"]
LOGS = f"{{RESULTS}}/logs"
BENCHMARKS = f"{{RESULTS}}/benchmarks"
KRELECTRA = f"PYTHONPATH={src} {{sys.executable}} -m krelectra"


include: "{rules}"
"""


@pytest.mark.slow
def test_snakemake_download_rule_keeps_verified_files_only(tmp_path, server):
    """The finetune_download rule, run by Snakemake, against the local server."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    # Snakemake records the rule's conda file even without --use-conda.
    assert (repo / "envs" / "finetune.yaml").is_file(), (
        "envs/finetune.yaml (the finetune stage's environment) is missing"
    )
    workdir = tmp_path / "wf"
    (workdir / "resources" / "finetune").mkdir(parents=True)
    (workdir / "Snakefile").write_text(
        SNAKEFILE.format(src=repo / "src", rules=repo / "workflow/rules/finetune_data.smk")
    )
    (workdir / "config.yaml").write_text("results: results\nfinetune:\n  data: download\n")
    sha1 = blob_sha1(CONTENT)
    served = {"ratings_train.txt": "good.txt", "ratings_test.txt": "corrupt.txt"}
    (workdir / "resources" / "finetune" / "manifest.tsv").write_text(
        "task\tfile\turl\tgit_blob_sha1\tbytes\tsha256\n"
        + "".join(f"nsmc\t{name}\t{server}/nsmc/{source}\t{sha1}\t\t\n" for name, source in served.items())
    )
    # The rule calls `krelectra`: the one installed beside this interpreter, also when the
    # virtual environment is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), PATH=path)
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", "config.yaml", "--retries", "0"]
    downloads = workdir / "results" / "finetune" / "data" / "download" / "nsmc"

    run = subprocess.run(
        snakemake + ["results/finetune/data/download/nsmc/ratings_train.txt"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (downloads / "ratings_train.txt").read_bytes() == CONTENT

    run = subprocess.run(
        snakemake + ["results/finetune/data/download/nsmc/ratings_test.txt"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert not (downloads / "ratings_test.txt").exists()
    log = (workdir / "results" / "logs" / "finetune" / "download" / "nsmc" / "ratings_test.txt.log").read_text()
    assert "nsmc/ratings_test.txt" in log and "git blob SHA-1 mismatch" in log
