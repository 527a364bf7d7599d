"""Plain-text helpers of the benchmarks: the CPU model in every machine header."""

from __future__ import annotations

import platform

from sae_forecast.bench.report import cpu_model, machine_line


def test_cpu_model_reads_the_model_name_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n")
    assert cpu_model(str(info)) == "AMD EPYC 9R14"


def test_a_name_without_a_model_number_gets_the_family_and_model(tmp_path):
    info = tmp_path / "cpuinfo"
    first = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n"
    info.write_text(first + "\nprocessor\t: 1\ncpu family\t: 6\nmodel\t\t: 2\n")
    assert cpu_model(str(info)) == "AMD EPYC (family 25, model 17)"


def test_cpu_model_falls_back_without_cpuinfo(tmp_path):
    assert cpu_model(str(tmp_path / "missing")) == (platform.processor() or "unknown CPU")


def test_machine_line_names_the_cpu():
    assert f"({cpu_model()})" in machine_line()
