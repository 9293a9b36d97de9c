"""The dated price table, overrides and cost estimates."""

from __future__ import annotations

import pytest

from cloudml_edu import ConfigError
from cloudml_edu.config import CloudMLConfig
from cloudml_edu.pricing import PRICES, PRICES_RECORDED, RETAIL_API, estimate_cost, price_of


def test_every_price_names_its_source_and_date() -> None:
    assert {"Standard_DS3_v2", "Standard_D4s_v3", "Standard_NC6s_v3", "DBU_jobs_premium"} <= set(
        PRICES
    )
    for price in PRICES.values():
        assert RETAIL_API in price.source
        assert price.recorded == PRICES_RECORDED
        assert price.usd_per_hour > 0
    assert "verify" in PRICES["Standard_DS3_v2"].source


def test_estimate_multiplies_node_hours_by_the_hourly_price() -> None:
    rate = PRICES["Standard_DS3_v2"].usd_per_hour
    assert estimate_cost("Standard_DS3_v2", 2.5) == pytest.approx(rate * 2.5, abs=1e-4)
    assert estimate_cost("local", 10.0) == 0.0


def test_config_prices_override_the_table() -> None:
    config = CloudMLConfig(prices={"Standard_DS3_v2": 0.3, "Custom_SKU": 1.25})
    assert estimate_cost("Standard_DS3_v2", 2, overrides=config.prices) == pytest.approx(0.6)
    assert estimate_cost("Custom_SKU", 2, overrides=config.prices) == pytest.approx(2.5)
    assert "override" in price_of("Custom_SKU", overrides=config.prices).source


def test_names_match_case_insensitively_so_environment_overrides_work() -> None:
    from cloudml_edu.config import load_config

    config = load_config(environ={"CLOUDML_PRICES__STANDARD_DS3_V2": "0.5"})
    assert estimate_cost("Standard_DS3_v2", 2, overrides=config.prices) == pytest.approx(1.0)
    assert price_of("standard_nc6s_v3") == PRICES["Standard_NC6s_v3"]


def test_databricks_clusters_add_dbus_per_node_hour() -> None:
    vm = PRICES["Standard_DS3_v2"].usd_per_hour
    dbu = PRICES["DBU_jobs_premium"].usd_per_hour
    cost = estimate_cost("Standard_DS3_v2", 2.0, dbu_per_node_hour=0.75)
    assert cost == pytest.approx(2.0 * vm + 2.0 * 0.75 * dbu, abs=1e-4)
    cheaper = estimate_cost(
        "Standard_DS3_v2", 2.0, dbu_per_node_hour=0.75, overrides={"DBU_jobs_premium": 0.1}
    )
    assert cheaper == pytest.approx(2.0 * vm + 0.15, abs=1e-4)


def test_unknown_skus_and_bad_input_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"\[prices\].*Standard_Z9"):
        estimate_cost("Standard_Z9", 1.0)
    with pytest.raises(ConfigError, match="negative"):
        estimate_cost("Standard_DS3_v2", 1.0, overrides={"Standard_DS3_v2": -1})
    with pytest.raises(ValueError, match="node_hours"):
        estimate_cost("Standard_DS3_v2", -1.0)
