"""AppTest for Markets, News, Economy and Data health on published demo data."""

from __future__ import annotations

import json

from nexus.db.engine import get_engine
from nexus.market.live import latest_quotes
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.watchlist import Watchlist


def test_markets_watchlist_tiles_and_candles(app_settings, signed_in):
    at, result = signed_in("pages/markets.py")
    at.run()
    assert not at.exception
    assert "watchlist is empty" in at.info[0].value
    at.text_input(key="symbol_search").input("bank").run()
    pick = at.selectbox(key="search_pick").value
    at.button(key="watch_add").click().run()
    assert not at.exception
    assert Watchlist(get_engine(app_settings)).symbols(result.actor) == [pick]
    quotes = latest_quotes(SnapshotReader(app_settings.live_path), [pick])
    tile = next(m for m in at.metric if m.label == pick)
    assert tile.value != "—" and quotes.height == 1
    captions = " ".join(c.value for c in at.caption)
    assert "Demo ticks" in captions and "quotes as of" in captions
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "candlestick"
    assert "Demo data" in json.dumps(spec["layout"].get("annotations", []))


def test_unknown_symbol_cannot_be_watched(app_settings, signed_in):
    import pytest

    from nexus.portfolio.model import LedgerError

    _, result = signed_in("pages/markets.py")
    with pytest.raises(LedgerError, match="Unknown symbol"):
        Watchlist(get_engine(app_settings)).add(result.actor, "NOPE", {"GRNB"})


def test_economy_shows_latest_values_and_a_chart(app_settings, signed_in):
    at, _ = signed_in("pages/economy.py")
    at.run()
    assert not at.exception
    assert any("Treasury" in m.label for m in at.metric)
    assert any("Demo data" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1


def test_news_is_plain_text_with_source_and_time(app_settings, signed_in):
    at, _ = signed_in("pages/news.py")
    at.run()
    assert not at.exception
    assert at.text  # titles rendered with st.text, never as HTML/markdown
    assert any("UTC" in c.value and "demo" in c.value for c in at.caption)


def test_data_health_is_for_admins(app_settings, signed_in):
    admin, _ = signed_in("pages/data_health.py", "admin@example.com")
    admin.run()
    assert not admin.exception
    assert [t.value for t in admin.title] == ["Data health"]
    health = admin.dataframe[0].value
    assert health.shape[0] >= 30
    analyst, _ = signed_in("pages/data_health.py", "analyst@example.com")
    analyst.run()
    assert "role you do not have" in analyst.error[0].value
