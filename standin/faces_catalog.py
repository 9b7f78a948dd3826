"""Build the standard stand-in catalog from ``../shared/faces``.

Layout (all ids deterministic, see ``catalog.stable_id``):

* ``Category:Likeness test files`` (root) > ``Category:Likeness test people`` > one category per
  person (``Category:Bill Gates``); ``Category:Portraits of Bill Gates`` is nested at depth 2 and
  links back to ``Category:Bill Gates`` (a cycle, as Commons has); ``Category:Likeness test
  groups`` (groups/), ``Category:Likeness test no faces`` (noface/), ``Category:Likeness test
  empty``. Group photos whose people are known from GROUPS.tsv are also in those people's
  categories (files in two categories).
* One Wikidata item per person (P31=Q5, P18=their first photo, P373=their category,
  labels/descriptions en/de/fr), Q5, two non-human items (dog, horse), an event (the Likeness
  test summit, P1344 "participant in" of the people GROUPS.tsv puts on its photos, which carry
  P180 = the event), a painting depicting Bill Gates (``Q99000901``, P180 = him), plus
  property entities P18, P31, P180, P373, P1344, P2677.
* P180 only where the truth is known (the person's own photo, GROUPS.tsv, the dog and horse
  photos); the P2677 regions on two portraits are approximate, not measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from standin.catalog import (
    EMPTY_CAT,
    GROUPS_CAT,
    HUMAN,
    NOFACE_CAT,
    PEOPLE_ROOT,
    ROOT_CAT,
    Catalog,
    CatalogCategory,
    CatalogFile,
    CatalogItem,
    CatalogUser,
    OAuthClient,
    Person,
    image_facts,
    read_tsv,
    stable_id,
    timestamp_for,
)

# Display names where title-casing the folder name would be wrong (and to get non-ASCII titles).
DISPLAY_NAMES = {
    "amelie_mauresmo": "Amélie Mauresmo",
    "gerhard_schroeder": "Gerhard Schröder",
    "luiz_inacio_lula_da_silva": "Luiz Inácio Lula da Silva",
    "recep_tayyip_erdogan": "Recep Tayyip Erdoğan",
    "george_w_bush": "George W. Bush",
    "joseph_biden": "Joe Biden",
    "deepface_person_a": "Deepface test person A",
    "deepface_person_b": "Deepface test person B",
}
# Titles of group / no-face photos that were not Commons files.
OTHER_TITLES = {
    "deepface_couple": "Couple (deepface test image)",
    "fr_kit_harington_with_rose_leslie": "Kit Harington with Rose Leslie",
    "fr_obama_and_biden": "Joe Biden and Barack Obama",
    "fr_two_people_obama_biden": "Barack Obama and Joe Biden, two people",
    "dlib_bald_guys_collage": "Collage of faces (dlib example)",
    "dlib_dog": "Dog (dlib test image)",
    "dlib_dogs_collage": "Dogs collage (dlib example)",
    "dlib_eagle": "Eagle (dlib test image)",
    "dlib_horses": "Horses (dlib test image)",
    "dlib_mmod_cars_test_image": "Cars on a road (dlib example)",
    "dlib_mmod_cars_test_image2": "Cars on a road 2 (dlib example)",
    # Exercises ?&%+ and non-ASCII in titles, URLs and upload paths.
    "commons_cerkiew": "Cerkiew? Church & tower – 100% + more (Żółć).jpg",
}
NON_HUMANS = {
    "Q144": ("dog", "Hund", "chien", "domestic animal"),
    "Q726": ("horse", "Pferd", "cheval", "domesticated animal"),
}
COMMON_NAME_CLASS = "Q55983715"
# An event some people attended, for the "files depicting a related item" source.
EVENT = "Q99000900"
EVENT_LABELS = {"en": "Likeness test summit", "de": "Likeness-Testgipfel",
                "fr": "sommet de test Likeness"}
EVENT_PHOTOS = ("commons_bill_gates_meets_modi", "fr_two_people_obama_biden",
                "fr_obama_and_biden")
# An item about a person (a portrait depicting them): a file depicting it depicts them.
PORTRAIT = "Q99000901"
PORTRAITS = "Category:Portraits of Bill Gates"
UPLOADS_CAT = "Category:Files uploaded by Likeness Tester"
# Approximate face regions for LFW-style centred crops (documented as not measured).
APPROX_REGION = "pct:30,25,40,50"

USERS = [
    CatalogUser(name="Likeness Tester", id=70001, central_id=81001, editcount=1234),
    CatalogUser(name="Zoë Reviewer", id=70002, central_id=81002, editcount=56,
                groups=["*", "user", "autoconfirmed", "extendedconfirmed"]),
    CatalogUser(name="Blocked Tester", id=70003, central_id=81003, editcount=7, blocked=True),
]
CLIENT = OAuthClient(
    client_id="5f2c0a7e9b1d4c3a8e6f0b2d4a6c8e01",
    client_secret="standin-secret-7d1e4b9a2c6f8e0d3b5a7c9e1f2a4b6d",  # noqa: S106 (test-only)
)


def build(faces_dir: Path, out_dir: Path) -> Catalog:
    faces_dir = faces_dir.resolve()
    if not (faces_dir / "people").is_dir():
        raise FileNotFoundError(f"{faces_dir}: no people/ folder (expected people/<name>/N.jpg, "
                                "optionally groups/, noface/, MANIFEST.tsv, GROUPS.tsv)")
    manifest = {r["staged_path"]: r for r in _optional_tsv(faces_dir / "MANIFEST.tsv")}
    groups = {r["file"]: r for r in _optional_tsv(faces_dir / "GROUPS.tsv")}
    b = _Builder(faces_dir, manifest)
    b.add_people()
    b.add_groups(groups)
    b.add_nofaces()
    b.add_categories()
    b.add_items()
    cat = Catalog(
        root=out_dir,
        files=b.files,
        categories=b.categories,
        items=b.items,
        users=list(USERS),
        clients=[CLIENT],
        people=list(b.people.values()),
        registered_tags=["likeness", "computer-aided-tagging"],
        notes=[
            f"Built from {faces_dir}; images are referenced, never copied.",
            f"P2677 regions {APPROX_REGION} are approximate centred-face boxes, not measured.",
        ],
    )
    cat.save()
    return cat


class _Builder:
    def __init__(self, faces_dir: Path, manifest: dict[str, dict[str, str]]) -> None:
        self.faces = faces_dir
        self.manifest = manifest
        self.files: list[CatalogFile] = []
        self.by_source: dict[str, CatalogFile] = {}
        self.people: dict[str, Person] = {}
        self.categories: list[CatalogCategory] = []
        self.items: list[CatalogItem] = []
        self.taken: set[int] = set()
        self.at_event: set[str] = set()  # people (slugs) on the event's photos

    # -- files -----------------------------------------------------------------------------
    def _add_file(self, rel: str, name: str, categories: list[str]) -> CatalogFile:
        path = self.faces / rel
        facts = image_facts(path)
        if "." not in name[-5:]:
            name = f"{name}.{facts['ext']}"
        title = f"File:{name}"
        pageid = stable_id("file", rel, self.taken, 60_000_000)
        row = self.manifest.get(rel, {})
        artist = row.get("exif_artist_copyright", "")
        f = CatalogFile(
            title=title,
            pageid=pageid,
            path=str(path),
            width=facts["width"],
            height=facts["height"],
            size=facts["size"],
            mime=facts["mime"],
            sha1=facts["sha1"],
            timestamp=timestamp_for(pageid),
            revid=500_000_000 + pageid % 300_000_000,
            categories=[*categories, UPLOADS_CAT],
            description=f"{name.rsplit('.', 1)[0]} (Likeness stand-in test file)",
            artist=artist.split(";")[0].replace("Artist: ", "") if artist else "Unknown",
            source=rel,
        )
        self.files.append(f)
        self.by_source[rel] = f
        return f

    def _people_dirs(self) -> list[tuple[str, Path]]:
        dirs = [(p.name, p) for p in sorted((self.faces / "people").iterdir()) if p.is_dir()]
        extra = self.faces / "extra_people"
        if extra.is_dir():
            dirs += [(p.name, p) for p in sorted(extra.iterdir()) if p.is_dir()]
        return dirs

    def add_people(self) -> None:
        for index, (slug, folder) in enumerate(self._people_dirs()):
            name = DISPLAY_NAMES.get(slug) or slug.replace("_", " ").title()
            person = Person(slug=slug, name=name, qid=f"Q{99_000_101 + index}",
                            category=f"Category:{name}")
            self.people[slug] = person
            photos = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))
            for n, photo in enumerate(photos):
                cats = [person.category]
                if slug == "bill_gates" and 10 <= int(photo.stem) <= 14:
                    cats = [PORTRAITS]
                rel = str(photo.relative_to(self.faces))
                f = self._add_file(rel, f"{name} {photo.stem}", cats)
                f.sdc = _background_sdc(n)
                person.files.append(f.title)
            person.p18 = person.files[0]
        self._seed_people_p180()

    def _seed_people_p180(self) -> None:
        def depicts(slug: str, n: int, region: bool = False, rank: str = "normal") -> None:
            person = self.people.get(slug)
            if person is None or len(person.files) <= n:
                return
            f = next(x for x in self.files if x.title == person.files[n])
            stmt: dict[str, Any] = {"property": "P180", "value": person.qid, "rank": rank}
            if region:
                stmt["qualifiers"] = [{"property": "P2677", "value": APPROX_REGION}]
            _add_statement(f, stmt)
            assert f.sdc is not None
            f.sdc["labels"] = {"en": f"{person.name}, portrait", "de": f"{person.name}, Porträt"}

        depicts("bill_gates", 0)
        depicts("bill_gates", 1, region=True)
        depicts("colin_powell", 0)
        depicts("george_w_bush", 0, region=True)
        depicts("tom_cruise", 1, rank="preferred")

    def add_groups(self, groups: dict[str, dict[str, str]]) -> None:
        for photo in sorted((self.faces / "groups").glob("*.jpg")):  # none if absent
            rel = str(photo.relative_to(self.faces))
            cats = [GROUPS_CAT]
            known = [s.replace("extra:", "") for s in
                     groups.get(photo.name, {}).get("people_slugs_in_this_set", "").split(";") if s]
            cats += [self.people[s].category for s in known if s in self.people]
            f = self._add_file(rel, self._title_for(photo.stem, rel), cats)
            for s in known:
                if s in self.people:
                    self.people[s].files.append(f.title)
            if photo.stem in ("commons_bill_gates_meets_modi", "fr_two_people_obama_biden"):
                for s in known:
                    if s in self.people:
                        _add_statement(f, {"property": "P180", "value": self.people[s].qid})
            if photo.stem in EVENT_PHOTOS:
                _add_statement(f, {"property": "P180", "value": EVENT})
                self.at_event.update(s for s in known if s in self.people)
            if photo.stem == "dlib_2008_001009":
                _add_statement(f, {"property": "P180", "snaktype": "somevalue"})
            if photo.stem == "deepface_couple":
                f.sdc = {"labels": {}, "statements": []}

    def add_nofaces(self) -> None:
        for photo in sorted((self.faces / "noface").glob("*.jpg")):
            rel = str(photo.relative_to(self.faces))
            f = self._add_file(rel, self._title_for(photo.stem, rel), [NOFACE_CAT])
            if photo.stem == "dlib_dog":
                _add_statement(f, {"property": "P180", "value": "Q144"})
            if photo.stem == "dlib_horses":
                _add_statement(f, {"property": "P180", "value": "Q726"})

    def _title_for(self, stem: str, rel: str) -> str:
        if stem in OTHER_TITLES:
            return OTHER_TITLES[stem]
        if stem.startswith("dlib_20"):  # PASCAL VOC photos in dlib's examples
            return f"People (PASCAL VOC {stem[5:].replace('_', ' ')})"
        original = self.manifest.get(rel, {}).get("path_in_repo", stem)
        base = original.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if base.startswith("1024px-"):
            base = base[len("1024px-"):]
        return base.replace("_", " ")

    # -- categories and items ----------------------------------------------------------------
    def add_categories(self) -> None:
        def cat(title: str, parents: list[str], hidden: bool = False) -> None:
            pageid = stable_id("category", title, self.taken, 20_000_000)
            self.categories.append(CatalogCategory(title, pageid, parents, hidden))

        cat(ROOT_CAT, [])
        cat(PEOPLE_ROOT, [ROOT_CAT])
        cat(GROUPS_CAT, [ROOT_CAT])
        cat(NOFACE_CAT, [ROOT_CAT])
        cat(EMPTY_CAT, [ROOT_CAT])
        for person in self.people.values():
            parents = [PEOPLE_ROOT]
            if person.slug == "bill_gates":
                parents.append(PORTRAITS)  # the cycle: Bill Gates > Portraits > Bill Gates
            cat(person.category, parents)
        if "bill_gates" in self.people:
            cat(PORTRAITS, ["Category:Bill Gates"])
        # Hidden, not under the root: every file, for paging past 500 and the 50-thumb limit.
        cat(UPLOADS_CAT, [], hidden=True)

    def add_items(self) -> None:
        def item(qid: str, labels: dict[str, str], descriptions: dict[str, str],
                 statements: list[dict[str, Any]], aliases: dict[str, list[str]] | None = None,
                 datatype: str = "", sitelinks: dict[str, str] | None = None) -> None:
            pageid = stable_id("item", qid, self.taken, 100_000_000)
            self.items.append(CatalogItem(
                id=qid, pageid=pageid, revid=2_000_000_000 + pageid % 100_000_000,
                labels=labels, descriptions=descriptions, aliases=aliases or {},
                statements=statements, datatype=datatype, sitelinks=sitelinks or {}))

        item(HUMAN, {"en": "human", "de": "Mensch", "fr": "être humain"},
             {"en": "any member of Homo sapiens"}, [])
        item(COMMON_NAME_CLASS, {"en": "organisms known by a particular common name"}, {}, [])
        for qid, (en, de, fr, desc) in NON_HUMANS.items():
            item(qid, {"en": en, "de": de, "fr": fr}, {"en": desc},
                 [{"property": "P31", "value": COMMON_NAME_CLASS}])
        item(EVENT, EVENT_LABELS, {"en": "meeting in the Likeness test photographs"}, [])
        if "bill_gates" in self.people:
            item(PORTRAIT, {"en": "Portrait of Bill Gates (Likeness test painting)"}, {},
                 [{"property": "P180", "value": self.people["bill_gates"].qid}])
        for person in self.people.values():
            p18 = person.p18.split(":", 1)[1]
            ascii_name = person.slug.replace("_", " ").title()
            aliases = {"en": [ascii_name]} if ascii_name != person.name else {}
            statements = [{"property": "P31", "value": HUMAN, "references": [{"P143": "Q328"}]},
                          {"property": "P18", "value": p18},
                          {"property": "P373", "value": person.category.split(":", 1)[1]}]
            if person.slug in self.at_event:
                statements.append({"property": "P1344", "value": EVENT})
            item(person.qid,
                 {"en": person.name, "de": person.name, "fr": person.name},
                 {"en": "person in the Likeness test photographs",
                  "de": "Person in den Likeness-Testfotos",
                  "fr": "personne des photos de test de Likeness"},
                 statements, aliases, sitelinks={"commonswiki": person.category})
        for pid, dtype, label in (("P18", "commonsMedia", "image"),
                                  ("P31", "wikibase-item", "instance of"),
                                  ("P180", "wikibase-item", "depicts"),
                                  ("P373", "string", "Commons category"),
                                  ("P1344", "wikibase-item", "participant in"),
                                  ("P2677", "string", "relative position within image")):
            item(pid, {"en": label}, {}, [], datatype=dtype)


def _background_sdc(n: int) -> dict[str, Any] | None:
    """Most photos have no structured data; some have statements but no P180; a few are empty."""
    if n % 5 == 2:
        return {"labels": {}, "statements": [{"property": "P6216", "value": "Q50423863"}]}
    if n % 7 == 4:
        return {"labels": {}, "statements": []}
    return None


def _add_statement(f: CatalogFile, stmt: dict[str, Any]) -> None:
    if f.sdc is None:
        f.sdc = {"labels": {}, "statements": []}
    f.sdc["statements"].append(stmt)


def _optional_tsv(path: Path) -> list[dict[str, str]]:
    return read_tsv(path) if path.exists() else []
