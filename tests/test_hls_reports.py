"""The csynth XML parser on the real reports in ../shared, and its refusal of unsafe or broken files."""

from __future__ import annotations

import pytest

from fpgacompress.errors import ReportError
from fpgacompress.reports import parse_csynth_xml, read_csynth_report


def test_top_report_totals_match_ground_truth(synth_reports_dir):
    import yaml

    truth = yaml.safe_load((synth_reports_dir / "ground_truth.yaml").read_text())
    for entry in truth["designs"]:
        report = read_csynth_report(synth_reports_dir / entry["dir"])
        expected = entry["csynth_total"]
        assert (report.totals.lut, report.totals.ff, report.totals.dsp, report.totals.bram_18k) == (
            expected["LUT"],
            expected["FF"],
            expected["DSP"],
            expected["BRAM_18K"],
        ), entry["id"]
        assert report.totals.latency_cycles == expected["latency_cycles_max"]
        assert report.source == "csynth"


def test_per_layer_rows_are_named_and_ordered_from_parameters_h(synth_reports_dir):
    report = read_csynth_report(synth_reports_dir / "17")
    assert [layer.name for layer in report.layers] == [
        "fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "output", "softmax",
    ]  # fmt: skip
    fc1 = report.layers[0]
    assert (fc1.dsp, fc1.lut, fc1.ff, fc1.latency_cycles, fc1.ii) == (247, 19760, 22630, 6, 1)


def test_utilization_and_verdict_name_largest_consumer(synth_reports_dir):
    report = read_csynth_report(synth_reports_dir / "17", board="zcu102")
    assert report.fits is True
    assert report.largest_consumer == ("dsp", "fc2")
    small = read_csynth_report(synth_reports_dir / "17")  # the report's own xc7z007s part
    assert small.fits is False
    assert small.verdict.startswith("Does not fit: DSP") and "reuse factor" in small.verdict


def test_missing_report_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="No myproject_csynth.xml under"):
        read_csynth_report(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        parse_csynth_xml(tmp_path / "absent_csynth.xml")


def test_malformed_xml_is_refused(tmp_path):
    path = tmp_path / "myproject_csynth.xml"
    path.write_text("<profile><AreaEstimates><Resources><LUT>12</LUT></profile>")
    with pytest.raises(ReportError, match="is not well-formed XML"):
        parse_csynth_xml(path)


def test_report_with_external_entity_is_refused(tmp_path):
    path = tmp_path / "myproject_csynth.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE profile [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        "<profile><UserAssignments><TopModelName>&secret;</TopModelName></UserAssignments></profile>"
    )
    with pytest.raises(ReportError, match="declares a DOCTYPE or ENTITY"):
        parse_csynth_xml(path)


def test_xml_without_csynth_sections_is_refused(tmp_path):
    path = tmp_path / "myproject_csynth.xml"
    path.write_text("<profile><UserAssignments><TopModelName>x</TopModelName></UserAssignments></profile>")
    with pytest.raises(ReportError, match="no <AreaEstimates><Resources>"):
        parse_csynth_xml(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
def test_entity_declarations_are_refused_in_any_encoding(tmp_path, encoding):
    # An internal entity (the seed of an expansion bomb) in an otherwise complete report: a byte-level
    # search for '<!DOCTYPE' misses it in UTF-16 / UTF-32, where every character carries a zero byte.
    document = (
        f'<?xml version="1.0" encoding="{encoding[:6].upper()}"?>\n'
        '<!DOCTYPE profile [<!ENTITY name "myproject">]>\n'
        "<profile><UserAssignments><TopModelName>&name;</TopModelName></UserAssignments>"
        "<AreaEstimates><Resources><LUT>12</LUT></Resources></AreaEstimates></profile>"
    )
    path = tmp_path / "myproject_csynth.xml"
    byte_order_mark = "" if encoding in ("utf-8", "utf-16") else "\ufeff"  # "utf-16" writes its own
    path.write_bytes((byte_order_mark + document).encode(encoding))
    with pytest.raises(ReportError, match="declares a DOCTYPE or ENTITY"):
        parse_csynth_xml(path)
