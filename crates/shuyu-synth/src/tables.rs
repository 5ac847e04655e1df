//! Word lists the generators compose from. Data, not logic; every list is non-empty.

use rand::{Rng, RngExt};

/// Common surnames, most frequent first (a skewed pick favours the front).
pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "马", "黄", "赵", "吴", "周", "徐", "孙", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "金", "白", "丁", "纳", "撒",
];
pub(crate) const MALE_GIVEN: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "阳", "晨", "博", "文",
    "志", "建", "国", "海", "东", "峰", "成", "福", "德", "武", "振", "宏",
];
pub(crate) const FEMALE_GIVEN: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "莹", "琳", "晶",
    "欣", "颖", "倩", "洁", "梅", "兰", "红", "丹", "萍", "悦", "怡", "佳", "雨", "思", "婉", "瑶",
    "蕾", "薇", "秀", "英", "桂", "春",
];

/// Brand words of enterprise names.
pub(crate) const BRANDS: &[&str] = &[
    "宏达", "鑫源", "华泰", "恒信", "金誉", "瑞丰", "博远", "盛世", "天润", "嘉禾", "同创", "鼎盛",
    "众诚", "汇通", "安泰", "永兴", "新元", "银河", "塞上", "贺兰", "明德", "万和", "广源", "东方",
    "北辰", "星海", "云帆", "中恒", "凯旋", "润泽", "丰源", "金川", "长城", "宝丰", "信达", "锦程",
    "正阳", "和顺", "启航", "乐康",
];

/// GB/T 4754-2017 sections used for enterprises: code, name, weight, words for the enterprise name.
pub(crate) const INDUSTRIES: &[(&str, &str, u32, &[&str])] = &[
    (
        "A",
        "农、林、牧、渔业",
        6,
        &["农业开发", "种植", "养殖", "生态农业"],
    ),
    ("B", "采矿业", 1, &["矿业", "石材"]),
    (
        "C",
        "制造业",
        10,
        &["机械制造", "食品", "新材料", "建材", "服装"],
    ),
    (
        "D",
        "电力、热力、燃气及水生产和供应业",
        2,
        &["新能源", "热力", "光伏电力"],
    ),
    (
        "E",
        "建筑业",
        9,
        &["建筑工程", "建设工程", "装饰工程", "市政工程"],
    ),
    (
        "F",
        "批发和零售业",
        24,
        &["商贸", "贸易", "百货", "医药连锁", "农资"],
    ),
    ("G", "交通运输、仓储和邮政业", 5, &["物流", "运输", "仓储"]),
    (
        "H",
        "住宿和餐饮业",
        9,
        &["餐饮管理", "酒店管理", "餐饮服务"],
    ),
    (
        "I",
        "信息传输、软件和信息技术服务业",
        6,
        &["网络科技", "信息技术", "软件", "数据科技"],
    ),
    ("J", "金融业", 1, &["投资管理", "融资担保"]),
    ("K", "房地产业", 3, &["房地产开发", "物业服务"]),
    (
        "L",
        "租赁和商务服务业",
        7,
        &["商务咨询", "人力资源", "广告", "企业管理"],
    ),
    (
        "M",
        "科学研究和技术服务业",
        3,
        &["检测技术", "工程设计", "技术服务"],
    ),
    (
        "N",
        "水利、环境和公共设施管理业",
        2,
        &["环保科技", "园林绿化"],
    ),
    (
        "O",
        "居民服务、修理和其他服务业",
        6,
        &["家政服务", "汽车维修", "美容美发"],
    ),
    ("P", "教育", 2, &["教育咨询", "职业培训"]),
    ("Q", "卫生和社会工作", 2, &["健康管理", "养老服务"]),
    ("R", "文化、体育和娱乐业", 2, &["文化传媒", "体育发展"]),
];

/// Shop words of individual businesses (个体工商户) by section.
pub(crate) const SHOPS: &[(&str, &str)] = &[
    ("F", "便利店"),
    ("F", "副食店"),
    ("F", "五金店"),
    ("H", "餐馆"),
    ("H", "面馆"),
    ("H", "烧烤店"),
    ("O", "理发店"),
    ("O", "汽车修理部"),
    ("O", "洗衣店"),
];

/// Hospitals, named after the city.
pub(crate) const HOSPITALS: &[&str] = &["人民医院", "中医医院", "妇幼保健院", "第二人民医院"];

/// A small ICD-10 table: code, name, department, typical cost in yuan, youngest and oldest age.
pub(crate) const DIAGNOSES: &[(&str, &str, &str, u32, u32, u32)] = &[
    ("J06.9", "急性上呼吸道感染", "内科", 120, 0, 120),
    ("J20.9", "急性支气管炎", "内科", 180, 0, 120),
    ("I10", "特发性（原发性）高血压", "内科", 260, 30, 120),
    ("E11.9", "2型糖尿病不伴有并发症", "内分泌科", 320, 30, 120),
    ("K29.7", "胃炎", "消化内科", 210, 12, 120),
    ("M54.5", "下背痛", "骨科", 240, 18, 120),
    ("S93.4", "踝扭伤和劳损", "骨科", 300, 6, 80),
    ("H10.9", "结膜炎", "眼科", 90, 0, 120),
    ("K02.9", "龋病", "口腔科", 150, 3, 120),
    ("L20.9", "特应性皮炎", "皮肤科", 160, 0, 120),
    ("N39.0", "泌尿道感染", "泌尿外科", 200, 16, 120),
    ("R50.9", "发热", "儿科", 110, 0, 14),
    ("A09", "感染性腹泻和胃肠炎", "儿科", 140, 0, 14),
    ("Z34.9", "正常妊娠监督", "妇产科", 280, 20, 45),
    ("J45.9", "哮喘", "呼吸内科", 350, 5, 120),
    ("I25.1", "动脉硬化性心脏病", "心血管内科", 520, 45, 120),
];

/// Road and landmark words for bus stops.
pub(crate) const ROADS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "文化路",
    "新华路",
    "长城路",
    "黄河路",
    "迎宾大道",
    "鼓楼街",
    "中山路",
    "团结路",
    "胜利街",
    "光明路",
    "滨河大道",
    "育才路",
    "工业园路",
];
pub(crate) const LANDMARKS: &[&str] = &[
    "火车站",
    "汽车站",
    "市医院",
    "体育馆",
    "第一中学",
    "市政府",
    "商业街",
    "人民公园",
    "大学城",
    "物流园",
    "博物馆",
    "农贸市场",
    "图书馆",
    "万达广场",
    "开发区管委会",
];
pub(crate) const STOP_SUFFIXES: &[&str] = &["口", "站", "东", "西", "南", "北", "中段"];

/// One item of `items`, chosen uniformly ("" for an empty list, which the tables never are).
pub(crate) fn pick<R: Rng + ?Sized>(rng: &mut R, items: &[&'static str]) -> &'static str {
    if items.is_empty() {
        return "";
    }
    items
        .get(rng.random_range(0..items.len()))
        .copied()
        .unwrap_or_default()
}

/// One index below `len`, skewed towards the front (density falling linearly).
pub(crate) fn skewed_index<R: Rng + ?Sized>(rng: &mut R, len: usize) -> usize {
    let u: f64 = rng.random();
    ((len as f64) * u * u) as usize
}

/// An index into `weights`, chosen with probability proportional to its weight.
pub(crate) fn weighted_index<R: Rng + ?Sized>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return 0;
    }
    let mut x = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
}

/// A standard normal deviate (Box–Muller).
pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A synthetic Chinese name: a surname and one or two given-name characters.
pub(crate) fn chinese_name<R: Rng + ?Sized>(rng: &mut R, male: bool) -> String {
    let surname = SURNAMES
        .get(skewed_index(rng, SURNAMES.len()))
        .copied()
        .unwrap_or("王");
    let given = if male { MALE_GIVEN } else { FEMALE_GIVEN };
    let mut name = String::with_capacity(9);
    name.push_str(surname);
    name.push_str(pick(rng, given));
    if rng.random_bool(0.6) {
        name.push_str(pick(rng, given));
    }
    name
}
