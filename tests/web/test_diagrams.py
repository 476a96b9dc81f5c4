"""Every shipped BPMN file opens in bpmn-js without import warnings, and every flow element has its shape."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.web.conftest import login

PROCESSES = Path(__file__).resolve().parents[2] / "processes" / "bpmn"

# Imports the XML into the page's modeler; returns bpmn-js's warnings and the ids of flow elements without a shape.
CHECK = """async (xml) => {
  const modeler = window.ggzyModeler;
  let warnings;
  try {
    ({ warnings } = await modeler.importXML(xml));
  } catch (error) {
    return { warnings: [String(error.message || error)], missing: [] };
  }
  const registry = modeler.get('elementRegistry');
  const missing = [];
  const walk = (container) => {
    for (const element of (container.flowElements || [])) {
      if (element.$type === 'bpmn:DataObject') continue;
      if (!registry.get(element.id)) missing.push(element.id);
      walk(element);
    }
  };
  for (const root of modeler.getDefinitions().rootElements) {
    if (root.$type === 'bpmn:Process') walk(root);
  }
  return { warnings: warnings.map((w) => w.message), missing };
}"""


def test_every_process_file_opens_in_the_modeler_with_a_complete_diagram(
    page: Any, web_user: Callable[..., dict[str, str]],
) -> None:
    web_user("web_diagrams", "designer")
    login(page, "web_diagrams")
    page.goto("/modeler?key=sample_review")
    page.wait_for_selector("body[data-modeler-ready='true']")
    problems = {}
    files = sorted(PROCESSES.glob("*.bpmn"))
    assert len(files) >= 16
    for path in files:
        result = page.evaluate(CHECK, path.read_text(encoding="utf-8"))
        if result["warnings"] or result["missing"]:
            problems[path.name] = result
    assert problems == {}
