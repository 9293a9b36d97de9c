"""Config files in the encodings editors save: a UTF-8 BOM is fine, UTF-16 and Latin-1 are
ConfigErrors naming the file, the encoding and how to save it as UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudml_edu import ConfigError
from cloudml_edu.config import load_config

TEXT = '# cours de Génie logiciel\nowner = "ada"\n'


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    assert load_config(path, environ={}).owner == "ada"


@pytest.mark.parametrize(
    ("encoding", "fragment"),
    [
        (
            "latin-1",
            r"not UTF-8: byte 0xE9 on line 1, column 13 \(a Latin-1 / Windows-1252 'é'\?\)",
        ),
        ("utf-16", r"saved as UTF-16"),
        ("utf-16-le", r"saved as UTF-16"),
    ],
)
def test_other_encodings_name_the_file_and_the_fix(
    tmp_path: Path, encoding: str, fragment: str
) -> None:
    path = tmp_path / "cloudml.toml"
    path.write_bytes(TEXT.encode(encoding))
    with pytest.raises(ConfigError, match=fragment) as caught:
        load_config(path, environ={})
    assert str(path) in str(caught.value) and "save it as UTF-8" in str(caught.value)


def test_an_azure_config_json_with_a_bom_is_read(tmp_path: Path, monkeypatch) -> None:
    from cloudml_edu import Workspace
    from cloudml_edu.backends.azureml.connection import scope_of

    config = tmp_path / "config.json"
    config.write_bytes(
        b'\xef\xbb\xbf{"subscription_id": "s", "resource_group": "r", "workspace_name": "w"}'
    )
    toml = tmp_path / "cloudml.toml"
    toml.write_text(f'[azure_ml]\nconfig_file = "{config}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scope = scope_of(Workspace.from_config(toml))
    assert (scope.subscription_id, scope.workspace_name) == ("s", "w")
