"""DCAT (and DCAT-AP) descriptions of the open data catalog, serialised by rdflib."""

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from yiwang.opendata.ckan import MEDIA_TYPES
from yiwang.opendata.schemas import DatasetRead

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
CYCLE_FREQUENCY = {
    "实时": "CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每年": "ANNUAL",
}
CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "xsd": str(XSD),
    "adms": str(ADMS),
}


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("adms", ADMS)):
        graph.bind(prefix, namespace)
    return graph


def _publisher(graph: Graph, base: str, d: DatasetRead) -> URIRef:
    agent = URIRef(f"{base}/opendata?department={d.department_code}")
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Literal(d.department_name, lang="zh")))
    return agent


def add_dataset(graph: Graph, base: str, d: DatasetRead) -> URIRef:
    node = URIRef(f"{base}/dataset/{d.code}")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(d.code)))
    graph.add((node, DCTERMS.title, Literal(d.title, lang="zh")))
    graph.add((node, DCTERMS.description, Literal(d.description or d.title, lang="zh")))
    graph.add((node, DCTERMS.publisher, _publisher(graph, base, d)))
    graph.add((node, DCTERMS.issued, Literal(d.published_at.isoformat(), datatype=XSD.dateTime)))
    modified = d.data_updated_at or d.published_at
    graph.add((node, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
    graph.add((node, DCTERMS.accrualPeriodicity, FREQUENCY[CYCLE_FREQUENCY.get(d.update_cycle, "UNKNOWN")]))
    graph.add((node, DCAT.landingPage, URIRef(f"{base}/opendata/datasets/{d.code}")))
    graph.add((node, DCAT.theme, Literal(d.category, lang="zh")))
    for tag in d.tags:
        graph.add((node, DCAT.keyword, Literal(tag, lang="zh")))
    contact = BNode()
    graph.add((node, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, Literal(d.department_name, lang="zh")))
    if d.licence:
        graph.add((node, DCTERMS.license, Literal(d.licence)))
    graph.add((node, DCTERMS.accessRights, Literal(d.open_type, lang="zh")))
    for fmt in d.formats:
        dist = URIRef(f"{base}/opendata/datasets/{d.code}/download.{fmt.lower()}#distribution")
        graph.add((node, DCAT.distribution, dist))
        graph.add((dist, RDF.type, DCAT.Distribution))
        graph.add((dist, DCTERMS.title, Literal(f"{d.title}（{fmt}）", lang="zh")))
        graph.add((dist, DCAT.accessURL, URIRef(f"{base}/opendata/datasets/{d.code}")))
        graph.add((dist, DCAT.downloadURL, URIRef(f"{base}/opendata/datasets/{d.code}/download.{fmt.lower()}")))
        graph.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[fmt]}")))
        graph.add((dist, DCTERMS.format, FILE_TYPE[fmt]))
        graph.add((dist, DCTERMS.modified, Literal(modified.isoformat(), datatype=XSD.dateTime)))
        if d.licence:
            graph.add((dist, DCTERMS.license, Literal(d.licence)))
    return node


def catalog_graph(base: str, site_name: str, datasets: list[DatasetRead]) -> Graph:
    graph = _graph()
    catalog = URIRef(f"{base}/catalog")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(f"{site_name}公共数据开放目录", lang="zh")))
    graph.add((catalog, DCTERMS.description, Literal("常熟市公共数据开放平台的数据集目录（DCAT-AP）", lang="zh")))
    graph.add((catalog, FOAF.homepage, URIRef(f"{base}/opendata")))
    graph.add((catalog, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/ZHO")))
    publisher = URIRef(f"{base}/opendata?department=DSJ")
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal("常熟市大数据管理局", lang="zh")))
    graph.add((catalog, DCTERMS.publisher, publisher))
    for d in datasets:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, base, d)))
    return graph


def dataset_graph(base: str, d: DatasetRead) -> Graph:
    graph = _graph()
    add_dataset(graph, base, d)
    return graph


def serialise(graph: Graph, fmt: str) -> bytes:
    if fmt == "turtle":
        return graph.serialize(format="turtle").encode()
    return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True).encode()
