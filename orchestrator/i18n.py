"""The report's languages: English (the source text) and Simplified Chinese (zh-CN).

Templates and charts wrap every label and caption in `_()`. Texts made from data (verdicts, warnings, claim
details) are messages, a code with parameters (orchestrator/messages.py, which holds their texts in both
languages); `_()` renders those too. A fixed text without a translation stays English rather than disappear.
"""

from __future__ import annotations

from typing import Any, Callable

from . import messages

LANGS = ("en", "zh-CN")

ZH: dict[str, str] = {
    "(sleeping tasks per second)": "（每秒完成的休眠任务）",
    "(starting the workers)": "（启动工作者）",
    "Answers over HTTP against the same runner's single scenario:": "HTTP 返回的结果与同一运行器单图场景的比较：",
    "At this machine's capacity:": "在本机的处理能力下：",
    "Closed loop: client p99 (solid) and p50 (dashed) latency, and the server's peak RSS while loaded, against the number of concurrent clients.":
        "闭环：客户端 p99（实线）与 p50（虚线）延迟，以及负载期间服务器的峰值 RSS，随并发客户端数的变化。",
    "Each runner is an HTTP inference server (Go net/http, Python FastAPI on uvicorn, C++ cpp-httplib) with a pool of K networks behind a bounded queue, on 127.0.0.1. vegeta sends the load: open loop at each offered rate, or closed loop with C concurrent clients. Latency is the client's, queueing and HTTP included; every answer is checked against the image's detections.":
        "每个运行器都是一个 HTTP 推理服务器（Go net/http、Python FastAPI + uvicorn、C++ cpp-httplib），在有界队列之后有 K 个网络组成的池，只监听 127.0.0.1。负载由 vegeta 发送：按各个给定速率的开环，或 C 个并发客户端的闭环。延迟为客户端所见，包含排队与 HTTP；每个回答都与该图像的检测结果核对。",
    "HTTP layer (ms)": "HTTP 层 (ms)",
    "N workers (goroutines, Python threads or asyncio tasks, C++ threads) take tasks from one queue and sleep 10 ms per task, as the article's code does. Start-up runs from before the first worker is started until all N run; memory is the resident set with the N workers alive, and what they add to it.":
        "N 个工作者（goroutine、Python 线程或 asyncio 任务、C++ 线程）从同一个队列取任务，每个任务休眠 10 ms，与文章的代码相同。启动时间从启动第一个工作者之前到 N 个全部运行为止；内存为 N 个工作者存活时的常驻内存，以及它们增加的部分。",
    "Open loop: answered against offered requests per second (the dotted diagonal is every request answered), and client p99 (solid) and p50 (dashed) against the offered rate; the red line is the p99 bound.":
        "开环：每秒应答数随给定请求速率的变化（点线对角线表示全部应答），以及客户端 p99（实线）与 p50（虚线）随给定速率的变化；红线为 p99 上限。",
    "RSS with N (MiB)": "N 个工作者时的 RSS (MiB)",
    "Serving over HTTP (vegeta)": "HTTP 服务（vegeta）",
    "Serving, at this machine's capacity": "HTTP 服务，在本机处理能力下",
    "Spawning workers (the article's section 4.3)": "启动工作者（文章第 4.3 节）",
    "Start-up, memory added and sleeping tasks per second of N workers: geometric mean of the process medians with its 95 % interval over processes.":
        "N 个工作者的启动时间、增加的内存与每秒休眠任务数：各进程中位数的几何平均及其跨进程 95 % 区间。",
    "The HTTP layer's own cost per request: client p50 at the lowest offered rate minus the same runner's single-scenario p50 (and, in brackets, client p50 minus the server's own handler time):":
        "HTTP 层自身的每请求开销：最低给定速率下客户端 p50 减去同一运行器单图场景的 p50（括号内为客户端 p50 减去服务器自身处理时间）：",
    "and no failed request": "且没有失败的请求",
    "answered (req/s)": "应答 (req/s)",
    "answered (requests/s)": "应答 (请求/秒)",
    "answered": "应答",
    "client latency (ms)": "客户端延迟 (ms)",
    "client p50 / p90 / p99 (ms)": "客户端 p50 / p90 / p99 (ms)",
    "cold start-up (ms)": "冷启动 (ms)",
    "concurrent clients": "并发客户端",
    "details": "详情",
    "errors": "错误",
    "load": "负载",
    "memory added (MiB)": "增加的内存 (MiB)",
    "networks": "网络数",
    "server CPU (%)": "服务器 CPU (%)",
    "server peak RSS (MiB)": "服务器峰值 RSS (MiB)",
    "server peak RSS under load (MiB)": "负载下服务器峰值 RSS (MiB)",
    "server service p50 (ms)": "服务器服务时间 p50 (ms)",
    "start-up (ms)": "启动 (ms)",
    "sustains none of": "均无法承受",
    "sustains": "可承受",
    "tasks per second": "每秒任务数",
    "within p99": "p99 不超过",
    # page frame
    ": YOLO inference, Go vs Python": "：YOLO 推理，Go 对比 Python",
    "Run": "运行",
    "warm-up +": "次预热 +",
    "measured iterations per process,": "次测量迭代/进程，",
    "process(es) per cell) ·": "个进程/单元）·",
    "logical CPUs ·": "个逻辑 CPU ·",
    "unknown CPU": "未知 CPU",
    "Headline": "结论",
    "thread(s)": "线程",
    "(cost of one binding call)": "（单次绑定调用开销）",
    "(not a fair comparison: see below)": "（不是公平比较：见下文）",
    "No comparison: the config's": "没有比较：配置中的",
    "list is empty or its cells failed.": "列表为空，或其单元均失败。",
    # claims
    "Claims checked": "对文章论断的检验",
    "claim": "论断",
    "claimed a / b": "论断 a / b",
    "measured here": "本机测得",
    "verdict": "结论",
    "consistent": "一致",
    "same direction, different size": "方向相同，幅度不同",
    "not confirmed": "未得到证实",
    "contradicted": "被推翻",
    "not comparable": "不可比较",
    # summary table
    "Summary, in the article's shape": "汇总（与文章表格形式相同）",
    "OpenCV thread(s)": "个 OpenCV 线程",
    "measure": "指标",
    "mean latency per image (ms)": "每张图平均延迟 (ms)",
    "p90 / p99 latency (ms)": "p90 / p99 延迟 (ms)",
    "first inference, cold (ms)": "首次推理，冷启动 (ms)",
    "model load (ms)": "模型加载 (ms)",
    "process start to first result (ms)": "进程启动到首个结果 (ms)",
    "peak memory, RSS (MiB)": "峰值内存 RSS (MiB)",
    "OpenCV (build)": "OpenCV（构建）",
    "detections parity": "检测结果一致性",
    "status": "状态",
    "ok": "正常",
    "failed": "失败",
    "skipped": "跳过",
    "pass": "通过",
    "fail": "不通过",
    "n/a": "无",
    "yes": "是",
    "no": "否",
    # comparisons
    "Comparisons": "比较",
    "a vs b": "a 对 b",
    "scenario": "场景",
    "model": "模型",
    "threads": "线程",
    "median a / b [95 % CI]": "中位数 a / b [95 % 置信区间]",
    "p99 a / b [95 % CI]": "p99 a / b [95 % 置信区间]",
    "p (Holm)": "p（Holm 校正）",
    "peak memory a / b": "峰值内存 a / b",
    "fair?": "公平？",
    "fair": "公平",
    "not fair": "不公平",
    "ns per call": "每次调用纳秒数",
    "checks": "检查项",
    "same OpenCV build": "相同的 OpenCV 构建",
    "same OpenCV threads": "相同的 OpenCV 线程数",
    "requested target used": "确实使用了所请求的计算目标",
    "same detections": "相同的检测结果",
    "both cells completed": "两个单元都已完成",
    # native overhead
    "Overhead over native C++": "相对原生 C++ 的开销",
    "runner": "运行器",
    "peak memory": "峰值内存",
    # charts section
    "Charts": "图表",
    "Latency per image (decode + preprocess + inference + postprocess) of every measured iteration, all processes "
    "of a cell together; boxes show quartiles and the median.":
        "每次测量迭代的单图延迟（解码 + 预处理 + 推理 + 后处理），同一单元的所有进程合并；箱体为四分位数和中位数。",
    "Median time of each phase per cell: decode = imread, preprocess = letterbox + blob, inference = setInput + "
    "forward, postprocess = YOLOv5 decode + NMS.":
        "各单元每个阶段的中位时间：解码 = imread，预处理 = letterbox + blob，推理 = setInput + forward，"
        "后处理 = YOLOv5 解码 + NMS。",
    "Resident memory of each runner process sampled from outside (40 Hz while it grows during start-up, 4 Hz once "
    "the runner iterates), one line per process.": "从外部采样的各运行器进程常驻内存（启动期间内存增长时 40 Hz，运行器开始迭代后 4 Hz），每个进程一条线。",
    # parity
    "Engines: OpenCV DNN and ONNX Runtime, single image and video stream": "推理引擎：OpenCV DNN 与 ONNX Runtime，单张图片与视频流",
    "The article's chapter 4.1 in this machine's numbers: each runner on each engine. Only the inference phase changes between engines; decoding, letterbox, blob, YOLOv5 decode and NMS are OpenCV in both. Single image: median latency per image over all iterations [95 % CI of the process medians], and the inference phase alone; video: frames per second.": "文章第 4.1 章在本机上的数字：每个运行器在每个引擎上的表现。引擎之间只有推理阶段不同；解码、letterbox、blob、YOLOv5 解码和 NMS 在两者中都由 OpenCV 完成。单张图片：所有迭代的每张图片中位延迟 [进程中位数的 95 % 置信区间]，以及单独的推理阶段；视频：每秒帧数。",
    "engine": "引擎",
    "engines": "引擎",
    "single image, p50 (ms)": "单张图片，p50（毫秒）",
    "inference phase, p50 (ms)": "推理阶段，p50（毫秒）",
    "video stream (FPS)": "视频流（FPS）",
    "Parity across engines: OpenCV DNN vs ONNX Runtime, same runner": "跨引擎一致性：同一运行器的 OpenCV DNN 与 ONNX Runtime",
    "same ONNX Runtime release": "相同的 ONNX Runtime 版本",
    "same ONNX Runtime session options": "相同的 ONNX Runtime 会话选项",
    "Parity: did both sides do the same work?": "一致性：两边做的是同样的工作吗？",
    "same build": "相同构建",
    "tolerance": "容差",
    "result": "结果",
    "IoU ≥": "IoU ≥",
    ", Δscore ≤": "，分数差 ≤",
    "detections on": "个检测，共",
    "images)": "张图）",
    "mismatch(es)": "处不一致",
    # every cell
    "Every cell": "全部单元",
    "threads (asked / OpenCV)": "线程（请求 / OpenCV 报告）",
    "processes": "进程数",
    "mean ± std": "均值 ± 标准差",
    "min / max": "最小 / 最大",
    "no measurement": "无测量数据",
    "All times in milliseconds. Phases are timed inside the runner with a monotonic clock; nothing else (output, "
    "logging) happens inside a timed region. The first inference of each process (cold) and the model load are "
    "reported apart and never mixed into these figures.":
        "所有时间单位为毫秒。各阶段在运行器内部用单调时钟计时；计时区间内不做任何其他事（输出、日志）。"
        "每个进程的首次推理（冷启动）和模型加载单独报告，从不混入这些数字。",
    # environment
    "Environment": "环境",
    "(with uncommitted changes)": "（有未提交的修改）",
    "Runners": "运行器",
    "language": "语言",
    "build information": "构建信息",
    "Inputs": "输入",
    "Model and image checksums (SHA-256)": "模型和图像校验和 (SHA-256)",
    "Reproduce": "复现",
    # The merged report of several machines (orchestrator/merge.py, templates/merge.html.j2).
    "machine": "机器",
    "machines": "台机器",
    "Machines": "机器",
    "Same runner, machine against machine": "同一运行器，机器对比",
    "Charts, one panel per machine": "图表：每台机器一个面板",
    "Every cell, by machine": "全部单元（按机器）",
    "Comparisons and fairness, by machine": "比较与公平性（按机器）",
    "Claims checked, by machine": "已检验的说法（按机器）",
    "Each machine's environment": "各机器的环境",
    "The run folder holds the resolved": "运行目录包含解析后的",
    ", every raw record in": "、全部原始记录（",
    "(one JSON Lines file, stderr log and memory samples per process), and": "，每个进程一个 JSON Lines 文件、stderr 日志和内存采样），以及",
    "re-renders this page from raw/ alone.": "仅凭 raw/ 即可重新生成本页面。",
    # scenarios
    "Video stream": "视频流",
    "frames read / processed / dropped": "读取 / 处理 / 丢弃帧数",
    "latency p50 / p99 (ms)": "延迟 p50 / p99 (ms)",
    "mode": "模式",
    "real time at {} fps": "按 {} fps 实时播放",
    "as fast as possible": "尽可能快",
    "Frames processed per second after warm-up (decode of the frame included), median over processes.":
        "预热后每秒处理的帧数（含帧解码），取各进程的中位数。",
    "Concurrency": "并发",
    "N workers, each with its own network, drain one queue of images. Go uses goroutines, C++ threads; Python "
    "threads share the GIL outside OpenCV calls, Python processes do not but pay memory and start-up.":
        "N 个工作者各自持有一个网络，共同消费一个图像队列。Go 用 goroutine，C++ 用线程；Python 线程在 OpenCV "
        "调用之外共享 GIL，Python 进程不受 GIL 限制，但要付出内存和启动开销。",
    "OpenCV threads": "OpenCV 线程",
    "workers": "工作者",
    "throughput (images/s)": "吞吐量（张/秒）",
    "start-up of the workers (ms)": "工作者启动耗时 (ms)",
    "peak memory (MiB)": "峰值内存 (MiB)",
    "Throughput (completed images per second of the measured phase, median over processes) and p99 latency per "
    "image against the number of workers.": "吞吐量（测量阶段每秒完成的图像数，取各进程中位数）和单图 p99 延迟随工作者数量的变化。",
    "Server load (open loop, Poisson arrivals)": "服务负载（开环，泊松到达）",
    "Requests arrive on a seeded exponential schedule, the same for every runner, whether or not a worker is free; "
    "latency runs from arrival to result, queueing included (MLPerf's Server scenario).":
        "请求按带种子的指数分布时间表到达，所有运行器相同，不论是否有空闲工作者；延迟从到达算到出结果，"
        "包含排队时间（即 MLPerf 的 Server 场景）。",
    "offered (req/s)": "施加负载（请求/秒）",
    "achieved (req/s)": "实际完成（请求/秒）",
    "queueing p50 (ms)": "排队 p50 (ms)",
    "p99 within bound": "p99 是否在界限内",
    "no bound set": "未设界限",
    "ms)": "ms）",
    "p50 (dashed) and p99 latency from arrival to result against the offered rate; the dotted line is the "
    "configured p99 bound.": "从到达到结果的 p50（虚线）与 p99 延迟随施加速率的变化；点线为配置的 p99 界限。",
    "Batches": "批处理",
    "batch": "批大小",
    "per batch p50 (ms)": "每批 p50 (ms)",
    "per image p50 (ms)": "每图 p50 (ms)",
    "Cost of one binding call": "单次绑定调用的开销",
    ": cv::countNonZero on a 1x1 Mat (Python converts a 1x1 numpy array on every call, as users call it);":
        "：对 1x1 Mat 调用 cv::countNonZero（Python 每次调用都要转换一个 1x1 numpy 数组，与用户的实际用法相同）；",
    ": the cheapest call from the language into compiled code (Go: an empty cgo function; Python: math.fabs; C++: an "
    "empty non-inlined function).": "：该语言调用编译代码的最低开销（Go：空的 cgo 函数；Python：math.fabs；C++：不内联的空函数）。",
    "opencv call (ns)": "opencv 调用 (ns)",
    "empty call (ns)": "空调用 (ns)",
    "samples": "样本数",
    "Median ns per cv::countNonZero call with its 95 % CI.": "每次 cv::countNonZero 调用的中位纳秒数及其 95 % 置信区间。",
    # chart labels
    "latency per image (ms)": "单图延迟 (ms)",
    "median time per image (ms)": "单图中位时间 (ms)",
    "time since process start (s)": "自进程启动的时间 (s)",
    "resident memory (MiB)": "常驻内存 (MiB)",
    "p99 latency per image (ms)": "单图 p99 延迟 (ms)",
    "offered rate (requests/s)": "施加速率（请求/秒）",
    "latency, arrival to result (ms)": "延迟，从到达到结果 (ms)",
    "frames per second": "每秒帧数",
    "ns per cv::countNonZero call": "每次 cv::countNonZero 调用的纳秒数",
    "decode": "解码",
    "preprocess": "预处理",
    "inference": "推理",
    "postprocess": "后处理",
    "total": "合计",
    "fraction of iterations": "迭代次数占比",
    "CPU, mean (%)": "CPU 平均占用 (%)",
    "Samples": "样本数",
    "no detections in this scenario": "此场景不产生检测结果",
    "highest offered rate with p99 within": "p99 不超过界限的最高施加速率，界限",
    "req/s": "请求/秒",
    "none of": "以下速率均未达到：",
    "The medians' 95 % CIs are in the summary table.": "中位数的 95 % 置信区间见汇总表。",
    "Empirical distribution of the latency per image: for each latency, the fraction of measured iterations at or below it. The tails (p90, p99) are where runners differ most.": "单图延迟的经验分布：每个延迟值对应不超过它的测量迭代所占比例。尾部（p90、p99）是运行器之间差异最大的地方。",
    "Methodology": "方法",
    "Every runner runs the same algorithm with the same OpenCV calls (letterbox, blobFromImage, forward, YOLOv5 decode, class-aware NMS); the detections of compared runners are matched image by image before any speed verdict.": "所有运行器用相同的 OpenCV 调用执行相同的算法（letterbox、blobFromImage、forward、YOLOv5 解码、按类别的 NMS）；在给出任何速度结论之前，先逐图比对被比较运行器的检测结果。",
    "Fairness checks: same OpenCV build (hash of its build information), same thread count (configured and reported), requested accelerator really used (asked first, fallback messages caught), same detections.": "公平性检查：相同的 OpenCV 构建（构建信息的哈希）、相同的线程数（配置值和报告值）、确实使用了所请求的加速器（事先询问，并捕获回退消息）、相同的检测结果。",
    "The full method, and what each scenario measures and what limits it, is in docs/methodology.md of the project.": "完整的方法、每个场景测量什么以及受什么限制，见项目的 docs/methodology.md。",
    "no verdict: the runners did not produce the same detections": "不下结论：两个运行器的检测结果不一致",
    "no verdict: no round has a value for both runners": "不下结论：没有任何一轮同时有两个运行器的数据",
    # verdict design (process-level statistics)
    "Verdicts": "结论方法",
    "the process is the unit; the two runners of a pair are paired by round and compared by a paired t test on the log-ratio of their process medians, Holm-corrected;":
        "以进程为统计单位；一对运行器按轮次配对，对其进程中位数的对数比做配对 t 检验（Holm 校正）；",
    "at least": "至少",
    "rounds; a process beside other work using more than": "轮；若进程运行期间其他工作占用超过",
    "cores gives its comparisons no verdict.": "个核心，则相关比较不下结论。",
    "Order": "顺序",
    "A claim's two numbers come from another machine. Its ratio a / b is held against the ratio measured here (paired per process, 95 % CI); a latency claim is judged by the difference a - b of the language's own work (decode, preprocess, postprocess: everything but inference), which travels between a GPU box and this machine where the inference time does not. A CI that contains 1 (or 0) is \"not confirmed\" before anything else.":
        "论断中的两个数字来自另一台机器。其比值 a / b 与本机测得的比值（按进程配对，95 % 置信区间）对照；延迟类论断以语言自身工作（解码、预处理、后处理，即推理以外的一切）之差 a - b 判定：这部分可以在 GPU 机器与本机之间迁移，推理时间则不能。置信区间包含 1（或 0）时，首先判为“未得到证实”。",
    "own work a - b (ms)": "自身工作 a - b (ms)",
    "rounds": "轮",
    "claimed": "论断",
    "median latency (ms) [95 % CI over processes]": "延迟中位数 (ms) [跨进程 95 % 置信区间]",
    "between-process spread": "进程间离散度",
    "p99 CI: n too small": "p99 置信区间：样本量不足",
    "peak memory, PSS (MiB)": "峰值内存 PSS (MiB)",
    "runtime base / model and buffers, RSS (MiB)": "运行时基础 / 模型与缓冲区，RSS (MiB)",
    "machine: other CPU, max (cores)": "机器：其他 CPU 占用最大值（核心）",
    "busy": "繁忙",
    "spread": "离散度",
    "Ratio = a / b of the geometric means of the process medians, paired by round, with the paired t test's 95 % CI and p-value (Holm-corrected over the run). A verdict needs p < 0.05 and a ratio beyond ±δ; a 90 % CI inside ±δ means equivalent; else inconclusive, with the rounds that would settle it. p99: over the pooled iterations, with an order-statistic interval where n allows one, descriptive only.":
        "比值 = 按轮次配对的进程中位数几何均值之比 a / b，附配对 t 检验的 95 % 置信区间和 p 值（对本次运行做 Holm 校正）。下结论需要 p < 0.05 且比值超出 ±δ；90 % 置信区间落在 ±δ 内即为等效；否则为尚无定论，并给出所需的轮数。p99：基于合并的迭代，样本量允许时给出顺序统计量区间，仅作描述。",
    "Each runner's process medians per phase divided by the native runner's (": "各运行器每个阶段的进程中位数除以原生运行器（",
    "), paired by round, with the paired t test's 95 % CI: 1.00 means no cost over calling OpenCV from C++.":
        "）的进程中位数，按轮次配对，附配对 t 检验的 95 % 置信区间：1.00 表示与从 C++ 直接调用 OpenCV 相比没有额外开销。",
    "Each cell runs in many fresh processes, in rounds ordered by a balanced Latin square with a fresh seed per run; warm-up iterations, the first (cold) inference and the model load are reported apart.":
        "每个单元在许多全新进程中运行，按轮次进行，轮内顺序为平衡拉丁方，每次运行使用新的种子；预热迭代、首次（冷启动）推理和模型加载单独报告。",
    "The process is the unit of replication: each process is summarised by its median, cells are compared by the paired log-ratio of their process medians over rounds (t test and interval, Holm-corrected), with a practical threshold δ; p99 gets an order-statistic interval only where n supports one; outliers are flagged by a MAD-based modified Z-score and never removed.":
        "进程是重复的单位：每个进程以其中位数概括，单元之间按轮次比较进程中位数的配对对数比（t 检验与区间，Holm 校正），并设实际阈值 δ；仅当样本量足够时才给出 p99 的顺序统计量区间；离群值按基于 MAD 的修正 Z 分数标记，从不删除。",
    "Machine quiet: the CPU used by everything but the runner and the orchestrator is measured during every process; the memory sampler's own CPU use is":
        "机器是否空闲：每个进程运行期间都测量运行器和编排器以外一切的 CPU 占用；内存采样器自身的 CPU 占用为",
    "machine quiet": "机器空闲",
    "Nanoseconds per call: each process's median over samples of many calls, then the geometric mean over processes with a t interval.":
        "每次调用的纳秒数：每个进程取多次调用样本的中位数，再取跨进程的几何均值并附 t 区间。",
    ": the same less the language's empty loop;": "：同上，减去该语言的空循环；",
    ": a new 1x1 Mat each call, counted and freed (what a benchmark of a binding most likely timed);":
        "：每次调用新建一个 1x1 Mat，计数后释放（绑定基准测试最可能测的就是这个）；",
    ": the loop alone, no call (the baseline).": "：只有循环、没有调用（基线）。",
    "net of the loop (ns)": "扣除循环 (ns)",
    "Mat + call + free (ns)": "新建 Mat + 调用 + 释放 (ns)",
    "loop (ns)": "循环 (ns)",
    "one round: no interval": "只有一轮：无区间",
    "unknown OS": "未知操作系统",
    "This run folder is damaged; what was found broken when it was read back:": "此运行文件夹已损坏，读回时发现的问题：",
}

def translator(lang: str) -> Callable[[Any], str]:
    """`_(text)`: a fixed text in `lang` (English where no translation exists), or a message from summary.json
    ({"code", "params", ...}) rendered in `lang` (orchestrator/messages.py)."""
    def _(text: Any) -> str:
        if isinstance(text, dict) and "code" in text:
            return messages.render(text, lang)
        if isinstance(text, messages.Message):
            return text.text(lang)
        return ZH.get(text, text) if lang == "zh-CN" else text

    return _
