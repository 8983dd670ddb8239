"""Texts made from data (verdicts, warnings, claim details) as a code with parameters, rendered per language.

The statistics never write sentences: they return a `Message`. summary.json keeps each one as
{"code", "params", "text"}, where "text" is the English rendering for a reader of the file; the report renders
the code in its own language from TEXTS. Nothing is ever parsed back from a text. A code's parameters are the
numbers themselves (a ratio, a count), so a reader of summary.json can use them too.

A parameter may itself be a Message (rendered first, in the same language), and a message may be followed by
others (`then`), for texts that are assembled from parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# code -> (English, Chinese). Parameters use str.format syntax.
TEXTS: dict[str, tuple[str, str]] = {
    # verdicts (orchestrator/verdicts.py, comparisons.py)
    "faster": ("{who} faster by {pct:.1f} % [{lo:.1f}, {hi:.1f}]", "{who} 快 {pct:.1f} % [{lo:.1f}, {hi:.1f}]"),
    "smaller": ("{who} smaller by {pct:.1f} % [{lo:.1f}, {hi:.1f}]", "{who} 小 {pct:.1f} % [{lo:.1f}, {hi:.1f}]"),
    "lower_throughput": ("{who} lower throughput by {pct:.1f} % [{lo:.1f}, {hi:.1f}]",
                         "{who} 吞吐量低 {pct:.1f} % [{lo:.1f}, {hi:.1f}]"),
    "equivalent": ("equivalent within ±{band:g} % (ratio {ratio:.3f} [{lo:.3f}, {hi:.3f}])",
                   "在 ±{band:g} % 内等效（比值 {ratio:.3f} [{lo:.3f}, {hi:.3f}]）"),
    "inconclusive": ("inconclusive: ratio {ratio:.3f} [{lo:.3f}, {hi:.3f}], need about {more} more round(s) to "
                     "settle it at ±{band:g} %",
                     "尚无定论：比值 {ratio:.3f} [{lo:.3f}, {hi:.3f}]，约需再运行 {more} 轮才能在 ±{band:g} % 下判定"),
    "inconclusive_many": ("inconclusive: ratio {ratio:.3f} [{lo:.3f}, {hi:.3f}], need over {more} more rounds to "
                          "settle it at ±{band:g} %",
                          "尚无定论：比值 {ratio:.3f} [{lo:.3f}, {hi:.3f}]，需再运行超过 {more} 轮才能在 ±{band:g} % 下判定"),
    "too_few_rounds": ("no verdict: {n} paired round(s), need at least {min} (raise scenario.repeats)",
                       "不下结论：只有 {n} 轮配对，至少需要 {min} 轮（请增大 scenario.repeats）"),
    "no_verdict_parity": ("no verdict: the runners did not produce the same detections",
                          "不下结论：两个运行器的检测结果不一致"),
    "no_verdict_busy": ("no verdict: the machine was busy (other work used up to {worst:.2f} cores in {rounds} "
                        "round(s) (threshold {threshold:g}))",
                        "不下结论：机器繁忙（其他工作在 {rounds} 轮中最多占用 {worst:.2f} 个核心，阈值 {threshold:g}）"),
    "no_verdict_failed": ("no verdict: {detail}; a cell with a failed process is not compared (fix it and rerun)",
                          "不下结论：{detail}；含失败进程的单元不参与比较（修复后重新运行）"),
    "no_common_round": ("no verdict: no round has a value for both runners", "不下结论：没有两个运行器都有数值的轮次"),
    "no_measurement": ("no verdict: {runner} has no measurement ({error})", "不下结论：{runner} 没有测量数据（{error}）"),
    "p99_no_process": ("no completed process", "没有完成的进程"),
    "p99_too_few": ("n too small for a p99 interval ({n} iterations, need {need})",
                    "样本量不足以给出 p99 区间（{n} 次迭代，需要 {need} 次）"),
    "p99_ratio": ("p99 ratio {ratio:.3f} [{lo:.3f}, {hi:.3f}]", "p99 比值 {ratio:.3f} [{lo:.3f}, {hi:.3f}]"),
    # a cell's warnings (orchestrator/summary.py)
    "auto_no_steady": ("warmup: auto found no steady state in some process; all its iterations were kept",
                       "warmup: auto 在某些进程中未找到稳定状态；其全部迭代均已保留"),
    "few_iterations": ("only {n} measured iterations (fewer than {min}): raise scenario.iterations",
                       "只有 {n} 次测量迭代（少于 {min} 次）：请增大 scenario.iterations"),
    "high_cv": ("latency varies a lot (std = {cv:.0%} of the mean, pooled over processes)",
                "延迟波动大（标准差为均值的 {cv:.0%}，合并各进程）"),
    "process_spread": ("process medians differ by {spread:.1%} (between-process spread): verdicts need more rounds",
                       "各进程中位数相差 {spread:.1%}（进程间离散度）：需要更多轮才能下结论"),
    "busy_processes": ("{n} process(es) ran beside other work (up to {worst:.2f} cores): their comparisons get no "
                       "verdict", "{n} 个进程运行时机器上有其他工作（最多 {worst:.2f} 个核心）：相关比较不下结论"),
    "outliers": ("{n} outlier(s) by modified Z-score > {z:g} (kept in every statistic)",
                 "按修正 Z 分数 > {z:g} 判定有 {n} 个离群值（所有统计均保留）"),
    "short_measurement": ("measured only {total_s:.1f} s in total (under {min_s:g} s): raise scenario.iterations or "
                          "scenario.repeats",
                          "总测量时间仅 {total_s:.1f} 秒（不足 {min_s:g} 秒）：请增大 scenario.iterations 或 scenario.repeats"),
    "auto_dropped": ("warmup: auto dropped {dropped} slow iteration(s) at the start of {processes} process(es)",
                     "warmup: auto 在 {processes} 个进程开头丢弃了 {dropped} 次较慢的迭代"),
    "still_settling": ("still settling after warmup {warmup}: {processes} process(es) were slower for their first "
                       "{first} measured iteration(s) (kept); raise scenario.warmup or use warmup: auto",
                       "预热 {warmup} 次后仍未稳定：{processes} 个进程的前 {first} 次测量迭代较慢（已保留）；"
                       "请增大 scenario.warmup 或使用 warmup: auto"),
    # the report (orchestrator/report.py)
    "different_builds": ("{a} and {b} use different OpenCV builds: a time difference between them measures the "
                         "library as much as the language.",
                         "{a} 与 {b} 使用不同的 OpenCV 构建：二者的时间差异既反映语言，也同样反映库本身。"),
    # claims (orchestrator/claims.py)
    "claim_no_scenario": ("not comparable: {metric} is judged on the {scenario} scenario, and this run has no "
                          "{scenario} cell",
                          "不可比较：{metric} 在 {scenario} 场景中判定，而本次运行没有 {scenario} 单元"),
    "claim_clients": ("not comparable: the claim is about {clients} concurrent clients, this run measured C = "
                      "{measured}",
                      "不可比较：论断针对 {clients} 个并发客户端，本次运行测量的 C = {measured}"),
    "claim_workers": ("not comparable: the claim is about {workers} workers, this run measured N = {measured}",
                      "不可比较：论断针对 {workers} 个工作者，本次运行测量的 N = {measured}"),
    "claim_hardware": ("not comparable: the claim was measured on {hardware}; this machine is {here}. Run the "
                       "config on that hardware (scripts/gpu_check.sh for an NVIDIA GPU)",
                       "不可比较：该论断在 {hardware} 上测得；本机为 {here}。请在该硬件上运行此配置（NVIDIA GPU 用 "
                       "scripts/gpu_check.sh）"),
    "claim_engine_absent": ("not comparable: the claim is about engine {engine}, this run measured {measured}",
                            "不可比较：论断针对引擎 {engine}，本次运行测量的是 {measured}"),
    "claim_no_pair": ("no cell of this run has data for both {a} and {b}", "本次运行没有同时包含 {a} 和 {b} 数据的单元"),
    "claim_parity": ("the runners did not produce the same detections in this run", "本次运行中两个运行器的检测结果不一致"),
    "claim_busy": ("the machine was busy in {rounds} round(s) of these cells: no claim is judged from them",
                   "这些单元有 {rounds} 轮运行时机器繁忙：不据此判定论断"),
    "claim_rounds": ("{n} round(s) with {what} for both runners, need at least {min} (raise scenario.repeats)",
                     "两个运行器同时有 {what} 数据的只有 {n} 轮，至少需要 {min} 轮（请增大 scenario.repeats）"),
    "claim_b_zero": ("the claim's b value is 0", "论断的 b 值为 0"),
    "claim_ratio_ci": ("claimed ratio {claimed:.3f}, the ratio's 95 % CI [{lo:.3f}, {hi:.3f}]",
                       "论断比值 {claimed:.3f}，比值的 95 % 置信区间 [{lo:.3f}, {hi:.3f}]"),
    "claim_ratio_order": ("claimed ratio {claimed:.3f}, the ratio's order-statistic interval [{lo:.3f}, {hi:.3f}]",
                          "论断比值 {claimed:.3f}，比值的顺序统计量区间 [{lo:.3f}, {hi:.3f}]"),
    "claim_own_work": ("claimed difference {claimed:.3f}, the 95 % CI of the difference in the language's own work "
                       "(ms per image) [{lo:.3f}, {hi:.3f}]",
                       "论断差值 {claimed:.3f}，语言自身工作之差（每图毫秒）的 95 % 置信区间 [{lo:.3f}, {hi:.3f}]"),
    "none_shown": (": no difference shown on this machine", "：在本机未显示出差异"),
    "what": (" ({what})", "（{what}）"),
    "own_work_why": ("; the language's own work (decode + preprocess + postprocess) is what travels from the claim's "
                     "machine to this one, the inference time does not. Ratio view: {ratio_view}",
                     "；语言自身工作（解码 + 预处理 + 后处理）可以从论断的机器迁移到本机，推理时间则不能。比值视角：{ratio_view}"),
    # a word of a fixed set (a claim's verdict), as a parameter
    "word": ("{word}", "{word}"),
}
WORDS_ZH = {"consistent": "一致", "same direction, different size": "方向相同，幅度不同", "not confirmed": "未得到证实",
            "contradicted": "被推翻", "not comparable": "不可比较"}


@dataclass(frozen=True)
class Message:
    code: str
    params: dict[str, Any]
    then: tuple[Message, ...] = ()

    def text(self, lang: str = "en") -> str:
        return render(self, lang)

    def as_dict(self) -> dict[str, Any]:
        """summary.json's form: the code, the parameters (nested messages as their own dicts), the English."""
        params = {k: v.as_dict() if isinstance(v, Message) else v for k, v in self.params.items()}
        out: dict[str, Any] = {"code": self.code, "params": params, "text": self.text()}
        if self.then:
            out["then"] = [m.as_dict() for m in self.then]
        return out

    def followed_by(self, *more: Message) -> Message:
        return Message(self.code, self.params, self.then + more)


def msg(code: str, **params: Any) -> Message:
    if code not in TEXTS:
        raise KeyError(f"no text for message code {code!r}")
    return Message(code, params)


def render(m: Message | dict[str, Any], lang: str = "en") -> str:
    """A Message, or its summary.json dict, as text in `lang` (en or zh-CN)."""
    if isinstance(m, dict):
        m = from_dict(m)
    en, zh = TEXTS[m.code]
    params = {k: render(v, lang) if isinstance(v, Message) else v for k, v in m.params.items()}
    if m.code == "word" and lang == "zh-CN":
        params["word"] = WORDS_ZH.get(params["word"], params["word"])
    return (zh if lang == "zh-CN" else en).format(**params) + "".join(render(t, lang) for t in m.then)


def from_dict(d: dict[str, Any]) -> Message:
    params = {k: from_dict(v) if isinstance(v, dict) and "code" in v else v for k, v in d["params"].items()}
    return Message(d["code"], params, tuple(from_dict(t) for t in d.get("then", ())))
