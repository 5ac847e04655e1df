//! The demo city: one organisation of every type and one account for every role, seeded through the
//! app's use cases as the command line. `shuyu demo` prints these logins; tests sign in with them.
//! The catalog is then seeded by the demo's own people (see [`catalog`]): four approved resources
//! from `shuyu-synth`'s datasets, one left as a draft and one refused. Finally the system seeds one
//! grant for the demo merchant over two of them (see [`grants`]).

mod catalog;
pub mod data;
mod grants;

pub use catalog::person_ctx;
pub use grants::{DEMO_DEV_ROWS, DEMO_SCENARIO, DEMO_TABLES, prepare_workspace};

use shuyu_app::{App, AppError, Ctx, NewOrg, NewPerson};
use shuyu_core::{CreditCode, RequestId, Role};
use shuyu_identity::TotpSecret;

/// The demo accounts' password (printed by `shuyu demo`; change it in any real deployment).
pub const DEMO_PASSWORD: &str = "Shuyu-Demo-2026!";

/// (username, display name, role, organisation index)
const PEOPLE: &[(&str, &str, Role, usize)] = &[
    ("admin", "平台管理员 王强", Role::Admin, 6),
    ("authority", "数据局 李敏", Role::Authority, 0),
    ("approver", "市政府 赵刚", Role::Approver, 1),
    ("expert", "专家 孙丽", Role::Expert, 2),
    ("source", "市场监管局 周伟", Role::SourceDepartment, 3),
    ("agency", "数据服务中心 吴静", Role::DataServiceAgency, 5),
    ("operator", "运营公司 郑凯", Role::Operator, 6),
    ("merchant", "数据商 陈晨", Role::Merchant, 7),
    ("consumer", "使用单位 林芳", Role::Consumer, 8),
    ("supervisor", "网信办 黄磊", Role::Supervisor, 9),
    ("source2", "人社局 钱涛", Role::SourceDepartment, 4),
    ("source3", "卫健委 冯雪", Role::SourceDepartment, 10),
    ("source4", "交通局 蒋华", Role::SourceDepartment, 11),
];

/// (name, type, first 17 characters of the credit code)
const ORGS: &[(&str, &str, &str)] = &[
    ("示范市大数据局", "authority", "11640500MB1234567"),
    ("示范市人民政府", "approver", "11640500MB0000001"),
    (
        "示范市公共数据授权运营专家委员会",
        "expert_panel",
        "51640500MJ0000002",
    ),
    (
        "示范市市场监督管理局",
        "source_department",
        "11640500MB0000003",
    ),
    (
        "示范市人力资源和社会保障局",
        "source_department",
        "11640500MB0000004",
    ),
    (
        "示范市公共数据服务中心",
        "data_service_agency",
        "12640500MB0000005",
    ),
    ("示范市数据运营有限公司", "operator", "91640500MA0000006"),
    ("示范数据科技有限公司", "merchant", "91640500MA0000007"),
    ("示范普惠金融服务有限公司", "consumer", "91640500MA0000008"),
    (
        "示范市委网络安全和信息化委员会办公室",
        "supervisor",
        "11640500MB0000009",
    ),
    (
        "示范市卫生健康委员会",
        "source_department",
        "11640500MB0000010",
    ),
    ("示范市交通运输局", "source_department", "11640500MB0000011"),
];

#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_name: String,
    pub totp: Option<TotpSecret>,
}

#[derive(Debug, Clone, Default)]
pub struct DemoLogins(pub Vec<DemoLogin>);

impl DemoLogins {
    pub fn get(&self, username: &str) -> &DemoLogin {
        self.0
            .iter()
            .find(|l| l.username == username)
            .unwrap_or_else(|| panic!("no demo login {username}"))
    }
}

/// Seeds the demo city unless it is there already (then returns the existing logins).
pub async fn seed(app: &App) -> Result<DemoLogins, AppError> {
    let ctx = Ctx::system(RequestId::mint(app.now(), [0x5e; 10]));
    if app.store().org_count().await? > 0 {
        return existing(app, &ctx).await;
    }
    let mut org_ids = Vec::new();
    let mut org_names = Vec::new();
    for (name, org_type, code17) in ORGS {
        let credit_code =
            CreditCode::complete(code17).map_err(|e| AppError::Internal(e.to_string()))?;
        let org = app
            .create_org(
                &ctx,
                NewOrg {
                    name: (*name).into(),
                    org_type: (*org_type).into(),
                    credit_code: credit_code.to_string(),
                },
            )
            .await?;
        org_ids.push(org.id);
        org_names.push(org.name.to_string());
    }
    let mut logins = Vec::new();
    let mut people = Vec::new();
    for (username, display, role, org_index) in PEOPLE {
        let input = NewPerson {
            org: org_ids[*org_index],
            username: (*username).into(),
            display_name: (*display).into(),
            role: role.as_str().into(),
            password: Some(DEMO_PASSWORD.into()),
            with_totp: app.profile().requires_second_factor(*role),
            verified: true,
        };
        let (person, totp) = app.create_person(&ctx, input).await?;
        app.seed_agreement(&ctx, person.id).await?;
        people.push(person);
        logins.push(DemoLogin {
            username: (*username).into(),
            display_name: (*display).into(),
            role: *role,
            org_name: org_names[*org_index].clone(),
            totp,
        });
    }
    // A newcomer whose real name is not verified yet: shows the PART-3 gate.
    let (_, _) = app
        .create_person(
            &ctx,
            NewPerson {
                org: org_ids[7],
                username: "newcomer".into(),
                display_name: "数据商 新员工 何洋".into(),
                role: "merchant".into(),
                password: Some(DEMO_PASSWORD.into()),
                with_totp: false,
                verified: false,
            },
        )
        .await?;
    logins.push(DemoLogin {
        username: "newcomer".into(),
        display_name: "数据商 新员工 何洋".into(),
        role: Role::Merchant,
        org_name: org_names[7].clone(),
        totp: None,
    });
    let approved = catalog::seed(app, &people).await?;
    grants::seed(app, &ctx, &approved, org_ids[7], org_ids[6]).await?;
    Ok(DemoLogins(logins))
}

async fn existing(app: &App, ctx: &Ctx) -> Result<DemoLogins, AppError> {
    let mut logins = Vec::new();
    for username in PEOPLE
        .iter()
        .map(|p| p.0)
        .chain(std::iter::once("newcomer"))
    {
        let Ok(person) = app.person_by_username(ctx, username).await else {
            continue;
        };
        let org = app.org(ctx, person.org).await?;
        logins.push(DemoLogin {
            username: username.into(),
            display_name: person.display_name.to_string(),
            role: person.role,
            org_name: org.name.to_string(),
            totp: person.totp.clone(),
        });
    }
    Ok(DemoLogins(logins))
}
