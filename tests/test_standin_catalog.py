"""The catalog built from ../shared/faces: deterministic, realistic, and never copying photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from PIL import Image

from likeness.config import load_config
from standin import Catalog, StandIn, build_from_faces
from standin.catalog import GROUPS_CAT, NOFACE_CAT, PEOPLE_ROOT


def test_build_is_deterministic_and_references_photos(faces_dir: Path, tmp_path: Path,
                                                      standin_catalog: Catalog) -> None:
    again = build_from_faces(faces_dir, tmp_path / "again")
    first = json.loads((standin_catalog.root / "manifest.json").read_text(encoding="utf-8"))
    second = json.loads((again.root / "manifest.json").read_text(encoding="utf-8"))
    first.pop("notes"), second.pop("notes")
    assert first == second
    assert [p.name for p in again.root.iterdir()] == ["manifest.json"]      # nothing copied
    assert all(Path(f.path).is_absolute() and Path(f.path).is_relative_to(faces_dir.resolve())
               for f in again.files)
    loaded = Catalog.load(again.root)
    assert loaded.files == again.files and loaded.items == again.items


def test_categories_people_and_items(standin_catalog: Catalog) -> None:
    cat = standin_catalog
    titles = {c.title for c in cat.categories}
    assert {PEOPLE_ROOT, GROUPS_CAT, NOFACE_CAT} <= titles
    bill = cat.person("bill_gates")
    assert bill.category == "Category:Bill Gates" and cat.file("File:Bill Gates 3.jpg")
    assert {c.title for c in cat.categories if PEOPLE_ROOT in c.parents} == \
        {p.category for p in cat.people}
    parents = {c.title: c.parents for c in cat.categories}
    assert "Category:Bill Gates" in parents["Category:Portraits of Bill Gates"]
    assert "Category:Portraits of Bill Gates" in parents["Category:Bill Gates"]   # the cycle
    items = {i.id: i for i in cat.items}
    for person in cat.people:
        item = items[person.qid]
        assert {"en", "de", "fr"} <= set(item.labels) and {"en", "de", "fr"} <= set(
            item.descriptions)
        assert {"property": "P31", "value": "Q5", "references": [{"P143": "Q328"}]} in \
            item.statements
        assert {"property": "P18", "value": person.p18.split(":", 1)[1]} in item.statements
    non_humans = [i for i in cat.items if i.id.startswith("Q") and i.statements
                  and all(s.get("value") != "Q5" for s in i.statements if s["property"] == "P31")]
    assert len(non_humans) >= 2
    assert len(cat.users) >= 3 and any(u.blocked for u in cat.users)


def test_structured_data_mix(standin_catalog: Catalog) -> None:
    cat = standin_catalog
    with_p180 = cat.files_with_p180()
    qualified = [f for f in with_p180 if any(s.get("qualifiers") for s in f.sdc["statements"])]
    assert len(with_p180) >= 8 and len(qualified) >= 2
    assert len(with_p180) - len(qualified) >= 4
    assert len(cat.files_without_sdc()) > len(cat.files) // 2
    assert any(f.sdc == {"labels": {}, "statements": []} for f in cat.files)
    assert any(f.sdc and f.sdc["statements"] and not any(
        s["property"] == "P180" for s in f.sdc["statements"]) for f in cat.files)
    assert len({f.pageid for f in cat.files}) == len(cat.files)


def test_overrides_and_env_feed_the_config_loader(standin: StandIn, tmp_path: Path) -> None:
    cfg = load_config(path=tmp_path / "none.yaml", environ={},
                      overrides=standin.config_overrides())
    assert cfg.wiki.commons_api == f"{standin.base_url}/commons/w/api.php"
    assert cfg.wiki.oauth_base == f"{standin.base_url}/meta/w/rest.php"
    assert cfg.oauth.client_id == standin.client.client_id
    from_env = load_config(path=tmp_path / "none.yaml", environ=standin.env())
    assert from_env.wiki == cfg.wiki and from_env.oauth == cfg.oauth


def test_add_file_at_run_time_and_reset(standin: StandIn, tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (640, 480), (0, 128, 0, 0)).save(path, "JPEG")
    resp = requests.post(f"{standin.base_url}/_standin/files", timeout=5, json={
        "path": str(path), "title": "File:CMYK test.jpg", "categories": ["Category:Bill Gates"]})
    assert resp.status_code == 201
    body = requests.get(standin.urls.api("commons"), timeout=5, params={
        "action": "query", "prop": "imageinfo", "titles": "File:CMYK test.jpg",
        "iiprop": "url|size|mime", "iiurlwidth": 250, "format": "json", "formatversion": 2})
    info = body.json()["query"]["pages"][0]["imageinfo"][0]
    assert (info["width"], info["height"], info["mime"]) == (640, 480, "image/jpeg")
    thumb = requests.get(info["thumburl"], timeout=5)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    standin.reset()
    assert standin.world.file_by_title("File:CMYK test.jpg") is None


def test_missing_photo_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no people/ folder"):
        build_from_faces(tmp_path / "nowhere", tmp_path / "out")


def test_a_plain_folder_of_photos_is_enough(tmp_path: Path) -> None:
    """A newcomer's own photos: people/<name>/N.jpg, no TSV files, no groups or noface."""
    for name, color in (("ada_lovelace", "red"), ("alan_turing", "blue")):
        folder = tmp_path / "photos" / "people" / name
        folder.mkdir(parents=True)
        for n in (1, 2):
            Image.new("RGB", (400, 300), color).save(folder / f"{n}.jpg")
    cat = build_from_faces(tmp_path / "photos", tmp_path / "catalog")
    assert {p.name for p in cat.people} == {"Ada Lovelace", "Alan Turing"}
    assert cat.file("File:Ada Lovelace 2.jpg").width == 400
    with StandIn(cat) as s:
        body = requests.get(s.urls.api("commons"), timeout=5, params={
            "action": "query", "list": "categorymembers", "cmtitle": "Category:Alan Turing",
            "format": "json"}).json()
    assert [m["title"] for m in body["query"]["categorymembers"]] == [
        "File:Alan Turing 1.jpg", "File:Alan Turing 2.jpg"]
