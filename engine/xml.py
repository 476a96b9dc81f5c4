"""XML parsing that refuses DTDs, entities and network access before any BPMN is read."""
from __future__ import annotations

from typing import Any

from lxml import etree

from domain.errors import Invalid

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
GGZY_NS = "urn:ggzy:bpmn"
MAX_BPMN_BYTES = 5 * 1024 * 1024


def parse_secure_xml(data: bytes | str) -> Any:
    """Parse XML, refusing any DOCTYPE (and so every entity) outright; return the root element."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BPMN_BYTES:
        raise Invalid("BPMN 文件过大", [{"element_id": None, "message": f"上限 {MAX_BPMN_BYTES} 字节"}])
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise Invalid(
            "BPMN 文件不得包含 DTD 或实体声明",
            [{"element_id": None, "message": "DOCTYPE/ENTITY declarations are refused"}],
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise Invalid("BPMN 不是格式正确的 XML", [{"element_id": None, "message": str(exc)}]) from exc
    if root.getroottree().docinfo.doctype:
        raise Invalid("BPMN 文件不得包含 DTD", [{"element_id": None, "message": "DOCTYPE refused"}])
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise Invalid("不是 BPMN 2.0 文件", [{"element_id": None, "message": f"root element is {root.tag}"}])
    return root
