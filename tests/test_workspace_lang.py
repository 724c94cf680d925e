"""The workspace's sentences in Portuguese: a bad key, a missing or damaged network, a damaged state file."""

import pytest

from lab import i18n
from lab.errors import LabError
from lab.workspace import Workspace


def test_workspace_refusals_and_warnings_speak_portuguese(tmp_path):
    workspace = Workspace(tmp_path)
    (tmp_path / "state.json").write_text("{not json")
    (tmp_path / "networks").mkdir()
    (tmp_path / "networks" / "0123456789ab.json").write_text('{"layers": []}')
    with i18n.speaking("pt-BR"):
        with pytest.raises(LabError) as bad_key:
            workspace.fetch("net")
        with pytest.raises(LabError) as missing:
            workspace.fetch("ba9876543210")
        with pytest.raises(LabError) as damaged:
            workspace.fetch("0123456789ab")
        state, warning = workspace.load()
    assert str(bad_key.value).startswith("'net' não é uma chave de rede; uma chave tem 12 caracteres")
    assert str(missing.value).startswith(f"Não há rede salva ba9876543210 em {tmp_path / 'networks'};")
    assert str(damaged.value) == ("A rede salva 0123456789ab está danificada (não tem uma lista de camadas); escolha "
                                  "outra em Histórico.")
    assert state.network is None and warning.startswith("Não foi possível ler o espaço de trabalho salvo (")
    assert "state.json.damaged-" in warning
