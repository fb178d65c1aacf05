"""The client timeout of the embedded server fits the machine: measured at start, longer when it is slower, never
below `llm_timeout`, and an explicit `CX_LLM_TIMEOUT` wins. `build_llm` uses it for that server only."""

from cx_worker.llm.client import build_llm
from cx_worker.llm.server import EmbeddedServer, fitted_timeout
from cx_worker.settings import Settings
from tests.support.fault_llm import FaultLLM


def _fit(settings: Settings, latency: float) -> tuple[float, EmbeddedServer]:
    with FaultLLM(latency=latency) as endpoint:
        server = EmbeddedServer(settings)
        server.base_url = endpoint.base_url  # measure this endpoint as if it were the embedded server
        try:
            return server.fit(), server
        finally:
            server.stop()


def test_a_slower_server_gets_a_longer_timeout_never_below_the_setting(tmp_path):
    settings = Settings(data_dir=tmp_path, llm_timeout=5)
    settings = settings.model_copy()
    settings.model_fields_set.discard("llm_timeout")  # as if left at its default
    quick, _ = _fit(settings, 0.05)
    slow, server = _fit(settings, 0.6)
    assert quick >= 5 and slow > 2 * quick
    assert server.tokens_per_second and server.tokens_per_second > 0


def test_an_explicit_timeout_is_kept_and_build_llm_uses_the_fitted_one_only_for_that_server(tmp_path):
    explicit = Settings(data_dir=tmp_path, llm_timeout=7)
    assert _fit(explicit, 0.3)[0] == 7
    default = Settings(data_dir=tmp_path)
    with FaultLLM(latency=0.3) as endpoint:
        server = EmbeddedServer(default)
        server.base_url = endpoint.base_url
        fitted = server.fit()
        assert fitted_timeout(endpoint.base_url) == fitted >= default.llm_timeout
        assert build_llm(default, base_url=endpoint.base_url).request_timeout == fitted
        assert build_llm(default, base_url="http://elsewhere.example/v1").request_timeout == default.llm_timeout
        server.stop()
    assert fitted_timeout(endpoint.base_url) is None  # forgotten when the server stops
