"""Configuration: digest.toml + environment -> Settings; every mistake is one clear line."""
from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import ConfigError


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "digest.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_without_a_file_put_the_store_in_the_user_data_dir(tmp_path):
    settings = load_settings(env={"HOME": str(tmp_path)})
    assert settings.store == str(tmp_path / ".local/share/digest/digest.sqlite3")
    assert settings.digest.timezone == "UTC"
    assert settings.smtp.security == "none"


def test_store_flag_wins_over_environment_and_file(tmp_path):
    cfg = write(tmp_path, 'store = "from-file.sqlite3"\n')
    env = {"DIGEST_STORE": "from-env.sqlite3", "HOME": str(tmp_path)}
    assert load_settings(cfg, env=env).store == "from-env.sqlite3"
    assert load_settings(cfg, store="flag.sqlite3", env=env).store == "flag.sqlite3"
    assert load_settings(cfg, env={"HOME": str(tmp_path)}).store == "from-file.sqlite3"


def test_issue_shaped_sections_are_read_and_typed(tmp_path):
    cfg = write(tmp_path, """
[digest]
timezone = "Europe/Paris"
sender = "Partnerships digest <digest@example.org>"
recipients = ["partnerships@example.org", "team@example.org"]

[smtp]
host = "mail.example.org"
port = 587
security = "starttls"
username = "digest"

[http]
contact = "ops@example.org"
requests_per_second = 2

[[lists]]
name = "wikimedia-l"
kind = "hyperkitty"
url = "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/"
since = "2017-01-01"
""")
    s = load_settings(cfg, env={"DIGEST_SMTP_PASSWORD": "s3cret", "HOME": str(tmp_path)})
    assert s.digest.recipients == ("partnerships@example.org", "team@example.org")
    assert s.smtp.port == 587 and s.smtp.security == "starttls"
    assert s.smtp.password == "s3cret"
    assert "s3cret" not in repr(s)
    assert s.http.requests_per_second == 2.0
    assert s.lists[0].name == "wikimedia-l" and s.lists[0].since == "2017-01-01"


@pytest.mark.parametrize("text, fragment", [
    ("[smtp]\npassword = 'x'\n", "DIGEST_SMTP_PASSWORD"),
    ("[smtp]\nsecurity = 'tls'\n", "smtp.security"),
    ("[digest]\ntimezone = 'Mars/Olympus'\n", "Mars/Olympus"),
    ("[digest]\nrecipientz = []\n", "digest.recipientz"),
    ("[smtp]\nport = 'twenty-five'\n", "smtp.port"),
    ("[[lists]]\nname = 'x'\nkind = 'ftp'\nurl = 'u'\n", "lists[1].kind"),
    ("[digest\n", "digest.toml"),
])
def test_mistakes_name_the_file_and_the_key(tmp_path, text, fragment):
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={"HOME": str(tmp_path)})
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml"):
        load_settings(str(tmp_path / "nope.toml"), env={})
    with pytest.raises(ConfigError, match="gone.toml"):
        load_settings(env={"DIGEST_CONFIG": str(tmp_path / "gone.toml")})
