//! The demo city's catalog: the four synthetic datasets of `shuyu-synth` registered by their source
//! departments and approved by the authority, plus one resource left as a draft and one refused, so
//! every state shows. Each step is a use case called as the demo person who would take it (a
//! registration by the command line would not be a source department's act).

use shuyu_app::{App, AppError, Ctx, NewResource};
use shuyu_catalog::{
    Coverage, FieldDraft, FieldFlags, FieldType, FormatKind, OpenCategory, ResourceDraft,
    UpdateFrequency,
};
use shuyu_core::RequestId;
use shuyu_identity::Person;
use shuyu_policy::{Actor, Clearance, Credential, Principal};
use shuyu_synth::{
    BusRidership, ClinicVisits, ColumnType, DatasetSchema, EnterpriseRegistry, Sensitivity,
    SocialInsurance,
};

/// A context acting as `person` in a signed-in session with a second factor and full clearance.
pub fn person_ctx(app: &App, person: &Person) -> Ctx {
    Ctx {
        principal: Principal::Person(Actor {
            person: person.id,
            org: person.org,
            role: person.role,
            credential: Credential::Session {
                second_factor: true,
            },
            clearance: Clearance {
                real_name_verified: true,
                agreement_current: true,
            },
        }),
        request_id: RequestId::mint(app.now(), [0xca; 10]),
        source: "demo".into(),
    }
}

/// The catalog field of a synthetic column: its grade and flags from what the column reveals.
/// Grades are the first three of the profile's scale (e.g. L1-L3), lowest for data not about a
/// person, highest for direct identifiers and sensitive personal information.
pub fn field_of(
    name: &str,
    column_type: ColumnType,
    description: &str,
    sensitivity: Sensitivity,
    privacy_unit: bool,
    grades: &[String],
) -> FieldDraft {
    let grade = |i: usize| grades.get(i).or(grades.last()).cloned().unwrap_or_default();
    let (rank, flags) = match sensitivity {
        Sensitivity::NotPersonal => (0, FieldFlags::default()),
        Sensitivity::QuasiIdentifier => (
            1,
            FieldFlags {
                personal_information: true,
                quasi_identifier: true,
                ..FieldFlags::default()
            },
        ),
        Sensitivity::PersonalInformation => (
            1,
            FieldFlags {
                personal_information: true,
                ..FieldFlags::default()
            },
        ),
        Sensitivity::DirectIdentifier => (
            2,
            FieldFlags {
                personal_information: true,
                direct_identifier: true,
                ..FieldFlags::default()
            },
        ),
        Sensitivity::SensitivePersonalInformation => (
            2,
            FieldFlags {
                personal_information: true,
                ..FieldFlags::default()
            },
        ),
    };
    FieldDraft {
        name: name.to_owned(),
        field_type: match column_type {
            ColumnType::Text => FieldType::String,
            ColumnType::Integer => FieldType::Integer,
            ColumnType::Money => FieldType::Decimal,
            ColumnType::Date => FieldType::Date,
            ColumnType::Timestamp => FieldType::Timestamp,
            ColumnType::Boolean => FieldType::Boolean,
        },
        description: description.to_owned(),
        grade: grade(rank),
        flags: FieldFlags {
            privacy_unit,
            ..flags
        },
        format: FormatKind::None,
    }
}

/// The draft of a synthetic dataset, graded at its highest field's grade.
pub fn draft_of(
    schema: &DatasetSchema,
    domain: &str,
    update_frequency: UpdateFrequency,
    legal_basis: &str,
    grades: &[String],
) -> ResourceDraft {
    let fields: Vec<FieldDraft> = schema
        .columns
        .iter()
        .map(|c| FieldDraft {
            // The synthetic column says which identifier format it carries (QLT-1 validity).
            format: c.format,
            ..field_of(
                c.name,
                c.column_type,
                c.description,
                c.sensitivity,
                c.name == schema.privacy_unit,
                grades,
            )
        })
        .collect();
    let grade = grades
        .iter()
        .rev()
        .find(|g| fields.iter().any(|f| &f.grade == *g))
        .cloned()
        .unwrap_or_default();
    ResourceDraft {
        name: schema.title.to_owned(),
        summary: format!(
            "{}提供的{}（演示用合成数据）。",
            schema.department, schema.title
        ),
        domain: domain.to_owned(),
        update_frequency,
        coverage: Coverage {
            time_from: chrono_date(2024, 1, 1),
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: legal_basis.to_owned(),
        open_category: OpenCategory::Conditional,
        grade,
        fields,
    }
}

fn chrono_date(y: i32, m: u32, d: u32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
}

fn simple(name: &str, description: &str, grade: &str) -> FieldDraft {
    FieldDraft {
        name: name.into(),
        field_type: FieldType::String,
        description: description.into(),
        grade: grade.into(),
        flags: FieldFlags::default(),
        format: FormatKind::None,
    }
}

/// Seeds the catalog; returns the four approved resources, in the order of `shuyu-synth`'s datasets
/// (enterprise registry, social insurance, clinic visits, bus ridership).
pub(super) async fn seed(
    app: &App,
    people: &[Person],
) -> Result<Vec<shuyu_catalog::Resource>, AppError> {
    let by = |username: &str| {
        people
            .iter()
            .find(|p| p.username.as_str() == username)
            .map(|p| person_ctx(app, p))
            .ok_or_else(|| AppError::Internal(format!("no demo person {username}")))
    };
    let authority = by("authority")?;
    let grades: Vec<String> = app
        .profile()
        .catalog()
        .grades
        .value
        .iter()
        .filter(|g| g.authorizable)
        .map(|g| g.code.clone())
        .collect();
    let approved: [(&str, DatasetSchema, &str, UpdateFrequency, &str); 4] = [
        (
            "source",
            EnterpriseRegistry::SCHEMA,
            "credit",
            UpdateFrequency::Daily,
            "《市场主体登记管理条例》",
        ),
        (
            "source2",
            SocialInsurance::SCHEMA,
            "social_security",
            UpdateFrequency::Monthly,
            "《中华人民共和国社会保险法》",
        ),
        (
            "source3",
            ClinicVisits::<rand::rngs::StdRng>::SCHEMA,
            "health",
            UpdateFrequency::Daily,
            "《中华人民共和国基本医疗卫生与健康促进法》",
        ),
        (
            "source4",
            BusRidership::<rand::rngs::StdRng>::SCHEMA,
            "transport",
            UpdateFrequency::RealTime,
            "《城市公共交通条例》",
        ),
    ];
    let mut approved_resources = Vec::with_capacity(approved.len());
    for (username, schema, domain, frequency, basis) in approved {
        let ctx = by(username)?;
        let draft = draft_of(&schema, domain, frequency, basis, &grades);
        let resource = app
            .register_resource(
                &ctx,
                NewResource {
                    provider: None,
                    draft,
                },
            )
            .await?;
        app.submit_resource(&ctx, resource.id()).await?;
        approved_resources.push(app.approve_resource(&authority, resource.id()).await?);
    }
    let low = grades.first().cloned().unwrap_or_default();
    // Left as a draft by the social insurance bureau.
    let draft = ResourceDraft {
        name: "职业技能培训补贴发放汇总".into(),
        summary: "按培训项目和季度汇总的补贴发放人次与金额，不含个人信息。".into(),
        domain: "employment".into(),
        update_frequency: UpdateFrequency::Quarterly,
        coverage: Coverage {
            time_from: chrono_date(2023, 1, 1),
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "《职业技能提升行动补贴管理办法》".into(),
        open_category: OpenCategory::Unconditional,
        grade: low.clone(),
        fields: vec![
            simple("programme", "培训项目名称", &low),
            simple("quarter", "发放季度", &low),
        ],
    };
    app.register_resource(
        &by("source2")?,
        NewResource {
            provider: None,
            draft,
        },
    )
    .await?;
    // Refused: the transport bureau listed card holders' names as conditionally open.
    let transport = by("source4")?;
    let mut holder = simple("holder_name", "持卡人姓名", grades.get(2).unwrap_or(&low));
    holder.flags = FieldFlags {
        personal_information: true,
        direct_identifier: true,
        ..FieldFlags::default()
    };
    let draft = ResourceDraft {
        name: "公交IC卡持卡人信息".into(),
        summary: "公交IC卡的办理记录与持卡人信息。".into(),
        domain: "transport".into(),
        update_frequency: UpdateFrequency::Daily,
        coverage: Coverage {
            time_from: chrono_date(2022, 1, 1),
            time_to: None,
            spatial: "全市".into(),
        },
        legal_basis: "《城市公共交通条例》".into(),
        open_category: OpenCategory::Conditional,
        grade: grades.get(2).cloned().unwrap_or(low.clone()),
        fields: vec![simple("card_id", "卡号", &low), holder],
    };
    let refused = app
        .register_resource(
            &transport,
            NewResource {
                provider: None,
                draft,
            },
        )
        .await?;
    app.submit_resource(&transport, refused.id()).await?;
    app.refuse_resource(
        &authority,
        refused.id(),
        vec!["持卡人姓名是直接标识符：删除该字段，或将资源改为不予开放。".into()],
    )
    .await?;
    Ok(approved_resources)
}
