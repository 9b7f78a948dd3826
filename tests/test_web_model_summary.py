"""The owner sees the model's answers, threshold and precision estimate on the project page."""

from sqlalchemy import insert

from likeness.db.schema import model_runs
from tests import factories as f
from tests.fixtures.web import login


def test_project_page_and_progress_api_show_the_model_estimate(make_app, engine):
    with engine.begin() as conn:
        owner = f.user(conn)
        project_id = f.project(conn, owner)
    client = make_app().test_client()
    login(client, owner)
    assert client.get(f"/api/projects/{project_id}/progress").get_json()["model"] is None
    assert "No model yet" in client.get(f"/projects/{project_id}").get_data(as_text=True)
    with engine.begin() as conn:
        conn.execute(insert(model_runs).values(
            project_id=project_id, n_positive=12, n_negative=30, n_shared=4, threshold=0.93,
            precision_estimate=0.987, recall_estimate=0.91))
    model = client.get(f"/api/projects/{project_id}/progress").get_json()["model"]
    assert (model["positives"], model["negatives"], model["shared"]) == (12, 30, 4)
    assert model["precision"] == 0.987 and model["threshold"] == 0.93
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert '<span id="model-precision">98.7</span>' in page
    assert 'id="progress"' in page  # the live progress panel is on the overview
