"""CKAN Action API checked with ckanapi against a live server, and DCAT output parsed with rdflib."""

import pytest


@pytest.fixture(scope="module")
def ckan(live_url):
    import ckanapi

    return ckanapi.RemoteCKAN(live_url, user_agent="yiwang-tests/1.0 (ckanapi)")


def test_ckanapi_reads_status_packages_and_search(ckan):
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.") and status["locale_default"] == "zh_Hans_CN"
    names = ckan.action.package_list()
    assert "hbj-00001" in names and "gaj-00001" not in names  # the population register is never opened
    result = ckan.call_action(
        "package_search", {"q": "空气", "rows": 5, "start": 0, "facet.field": ["organization", "tags"]}
    )
    assert result["count"] >= 1 and result["results"][0]["name"] == "hbj-00001"
    assert result["facets"]["organization"]["hbj"] >= 1
    assert {i["name"] for i in result["search_facets"]["tags"]["items"]} >= {"空气质量"}
    filtered = ckan.action.package_search(fq="organization:sjj", rows=1000)
    assert filtered["count"] >= 1 and all(p["organization"]["name"] == "sjj" for p in filtered["results"])
    page1 = ckan.action.package_search(rows=2, start=0, sort="name asc")
    page2 = ckan.action.package_search(rows=2, start=2, sort="name asc")
    assert [p["name"] for p in page1["results"]] == sorted(p["name"] for p in page1["results"])
    assert page1["results"][-1]["name"] < page2["results"][0]["name"]


def test_ckanapi_reads_a_package_its_resources_organizations_groups_and_tags(ckan, live_url):
    import requests

    package = ckan.action.package_show(id="hbj-00001")
    assert package["title"] == "环境空气质量监测数据" and package["organization"]["name"] == "hbj"
    formats = {r["format"] for r in package["resources"]}
    assert formats == {"CSV", "JSON", "XLSX"}
    resource = ckan.action.resource_show(id=package["resources"][0]["id"])
    assert resource["package_id"] == "hbj-00001"
    download = requests.get(resource["url"].replace("http://testserver", live_url), timeout=10)
    assert download.status_code == 200
    assert "hbj" in ckan.action.organization_list()
    organization = ckan.action.organization_show(id="hbj", include_datasets=True)
    assert organization["package_count"] >= 2 and any(p["name"] == "hbj-00001" for p in organization["packages"])
    assert set(ckan.action.group_list()) <= {"basic", "thematic", "departmental"}
    assert "空气质量" in ckan.action.tag_list()


def test_ckanapi_gets_ckan_errors(ckan, live_url):
    import ckanapi
    import requests

    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")
    raw = requests.get(f"{live_url}/api/3/action/package_show", params={"id": "nope"}, timeout=10)
    assert raw.status_code == 404 and raw.json()["success"] is False
    assert raw.json()["error"]["__type"] == "Not Found Error"


def test_dcat_catalog_and_dataset_parse_with_rdflib(anon):
    from rdflib import Graph, URIRef
    from rdflib.namespace import DCAT, DCTERMS, RDF

    catalog_ld = anon.get("/catalog.jsonld")
    assert catalog_ld.status_code == 200 and catalog_ld.headers["content-type"].startswith("application/ld+json")
    graph = Graph().parse(data=catalog_ld.text, format="json-ld")
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    datasets = set(graph.objects(catalogs[0], DCAT.dataset))
    air = URIRef("http://testserver/dataset/HBJ-00001")
    assert air in datasets and (air, RDF.type, DCAT.Dataset) in graph
    assert str(graph.value(air, DCTERMS.title)) == "环境空气质量监测数据"
    distributions = list(graph.objects(air, DCAT.distribution))
    assert len(distributions) == 3
    assert all(graph.value(d, DCAT.downloadURL) is not None for d in distributions)
    assert str(graph.value(air, DCTERMS.accrualPeriodicity)).endswith("/CONT")
    turtle = Graph().parse(data=anon.get("/catalog.ttl").text, format="turtle")
    assert set(turtle.subjects(RDF.type, DCAT.Dataset)) == set(graph.subjects(RDF.type, DCAT.Dataset))
    one = Graph().parse(data=anon.get("/dataset/HBJ-00001.jsonld").text, format="json-ld")
    assert (air, RDF.type, DCAT.Dataset) in one and (air, DCTERMS.identifier, None) in one
    missing = anon.get("/dataset/NOPE-00001.jsonld")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
