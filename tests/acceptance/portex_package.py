"""A portex type package of the tests' own, in a local git repository the graviti SDK fetches instead of GitHub.

The SDK runs ``git fetch`` against ``https://github.com/Project-OpenBytes/portex-standard`` whenever a schema
imports external types, on write and on read (data-plane spec §9.3). ``redirect_environment`` rewrites that
URL to the local repository with git's ``insteadOf``; the SDK passes ``GIT_CONFIG_*`` on to git, but reads
them when ``graviti`` is first imported, so they must be set before that.
"""

import subprocess
from pathlib import Path

STANDARD_URL = "https://github.com/Project-OpenBytes/portex-standard"

# The few types the tests use, written for them: every *.yaml of the repository is built, so each is valid.
TYPE_FILES = {
    "standard/ROOT.yaml": "",
    "standard/file/File.yaml": """\
type: template
parameters:
  - name: extras
    default: null
declaration:
  type: record
  fields:
    - name: key
      type: string
    - name: extension
      type: string
    - name: size
      type: int64
    - +$extras
""",
    "standard/file/Image.yaml": """\
type: template
declaration:
  type: file.File
  extras:
    - name: height
      type: int32
    - name: width
      type: int32
""",
    "standard/label/Box2D.yaml": """\
type: template
parameters:
  - name: categories
    default: null
declaration:
  type: record
  fields:
    - name: xmin
      type: float32
    - name: ymin
      type: float32
    - name: xmax
      type: float32
    - name: ymax
      type: float32
    - name: category
      exist_if: $categories
      type: enum
      values: $categories
""",
}


def redirect_environment(repository: Path) -> dict[str, str]:
    """The variables that make git fetch the standard package from ``repository``."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{repository.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": STANDARD_URL,
    }


def build_repository(repository: Path) -> Path:
    """Write the type files into a new git repository with one commit on ``main``; return its path."""
    repository.mkdir(parents=True)
    for name, text in TYPE_FILES.items():
        path = repository / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repository, check=True, capture_output=True)

    git("init", "-q")
    git("symbolic-ref", "HEAD", "refs/heads/main")
    git("add", "-A")
    git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "portex types for tests")
    return repository
