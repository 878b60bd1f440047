//! Derivation of T, N and M from what imaging measures, for the cancers whose AJCC definitions
//! are measurable: the greatest dimension of the primary tumour, named findings (invasion of a
//! structure, a separate nodule), where the involved regional nodes lie or how many there are, and
//! where distant metastases are. Every category derived comes with the rule that gave it, and a
//! category the measurements do not decide is `None` with a rule that says why.
//!
//! What is derived is a *clinical* (c) category proposed to the board, never a pathologic one: node
//! counts on imaging stand in for the pathologic counts some definitions are written in, and the
//! categories imaging cannot tell apart (lung T1mi and Tis, breast N1mi, colorectal N1c, depth of
//! invasion in the gut wall) are not derived.
//!
//! Sources (AJCC: Amin MB et al. (eds.), *AJCC Cancer Staging Manual*, 8th ed., Springer 2017):
//! - Lung, 8th: chapter 36; Goldstraw P et al., *J Thorac Oncol* 2016;11:39-51. 9th: T and the
//!   M1a/M1b definitions unchanged; N2a/N2b (single/multiple N2 stations) from Huang J et al.,
//!   *J Thorac Oncol* 2024;19:766-785, M1c1/M1c2 (one/several extrathoracic organ systems) from
//!   Fong KM et al., *J Thorac Oncol* 2024;19:786-802 (IASLC proposals adopted by AJCC 9th).
//!   Station names follow the IASLC lymph node map, Rusch VW et al., *J Thorac Oncol*
//!   2009;4:568-577.
//! - Esophagus chapter 16, stomach chapter 17, colon and rectum chapter 20, liver (hepatocellular
//!   carcinoma) chapter 22, exocrine pancreas chapter 28, breast chapter 48 (anatomic T, clinical
//!   N), kidney chapter 60, larynx chapter 13 (clinical N of HPV-unrelated head and neck cancer).
//! - The nodal size criterion: [`NODE_SHORT_AXIS_MM`].
//!
//! Sizes are in millimetres and compared as given, except for the breast, whose chapter rounds to
//! the nearest millimetre (and any size over 1 mm and under 2 mm up to 2 mm) before the cut-offs
//! are applied.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize, Serializer};

use super::{Cancer, Edition, StagingError, Subsite};
use crate::domain::language::Labelled;
use crate::domain::said::Said;
use crate::said;

/// A regional lymph node counts as involved on CT when its short axis is at least 10 mm: RECIST
/// 1.1 calls such a node pathological (Schwartz LH et al., "Evaluation of lymph nodes with RECIST
/// 1.1", *Eur J Cancer* 2009;45:261-267; Eisenhauer EA et al., *Eur J Cancer* 2009;45:228-247).
/// Callers count nodes with it ([`node_involved`]) before filling in
/// [`Measurements::involved_nodes`]; the derivation itself takes the count as given.
pub const NODE_SHORT_AXIS_MM: f64 = 10.0;

/// The citation of [`NODE_SHORT_AXIS_MM`], for display beside a count made with it.
pub const NODE_SHORT_AXIS_SOURCE: &str = "short axis >= 10 mm: Schwartz LH et al., Evaluation of lymph nodes with \
                                          RECIST 1.1, Eur J Cancer 2009;45:261-267";

/// Whether a node of this short axis (mm) counts as involved by [`NODE_SHORT_AXIS_MM`].
pub fn node_involved(short_axis_mm: f64) -> bool {
    short_axis_mm.is_finite() && short_axis_mm >= NODE_SHORT_AXIS_MM
}

/// The largest size accepted (mm); anything larger is taken for a unit or typing error.
pub const MAX_SIZE_MM: f64 = 500.0;

/// A closed vocabulary: an enum whose serde names are snake_case, with `ALL`, `as_str` (the
/// serde name), `label` and `label_zh` (the finding in English and in Simplified Chinese, as the
/// rules quote it) and `parse` (exact).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal, $label:literal, $zh:literal;)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire (as serde writes it).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The finding in English, as the rules quote it.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// The finding in Simplified Chinese, as the rules quote it.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            /// The term of this name, matched exactly.
            pub fn parse(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }
    };
}

vocabulary! {
    /// Lung (AJCC 8th = 9th): the findings that set T regardless of size.
    LungDescriptor {
        /// T2.
        MainBronchus = "main_bronchus", "involves the main bronchus without involving the carina", "侵犯主支气管但未累及隆突";
        /// T2 (PL1 or PL2).
        VisceralPleura = "visceral_pleura", "invades the visceral pleura", "侵犯脏层胸膜";
        /// T2.
        AtelectasisToHilum = "atelectasis_to_hilum",
            "atelectasis or obstructive pneumonitis extending to the hilar region", "肺不张或阻塞性肺炎累及肺门区";
        /// T3 (including superior sulcus tumours).
        ChestWall = "chest_wall", "invades the chest wall", "侵犯胸壁";
        /// T3 (PL3).
        ParietalPleura = "parietal_pleura", "invades the parietal pleura", "侵犯壁层胸膜";
        /// T3.
        SuperiorSulcus = "superior_sulcus", "superior sulcus tumour invading the chest wall", "侵犯胸壁的肺上沟瘤";
        /// T3.
        PhrenicNerve = "phrenic_nerve", "invades the phrenic nerve", "侵犯膈神经";
        /// T3.
        ParietalPericardium = "parietal_pericardium", "invades the parietal pericardium", "侵犯心包壁层";
        /// T3.
        SeparateNoduleSameLobe = "separate_nodule_same_lobe",
            "separate tumour nodule(s) in the same lobe as the primary", "原发灶同一肺叶内出现孤立癌结节";
        /// T4.
        Diaphragm = "diaphragm", "invades the diaphragm", "侵犯膈肌";
        /// T4.
        Mediastinum = "mediastinum", "invades the mediastinum", "侵犯纵隔";
        /// T4.
        Heart = "heart", "invades the heart", "侵犯心脏";
        /// T4.
        GreatVessels = "great_vessels", "invades the great vessels", "侵犯大血管";
        /// T4.
        Trachea = "trachea", "invades the trachea", "侵犯气管";
        /// T4.
        RecurrentLaryngealNerve = "recurrent_laryngeal_nerve", "invades the recurrent laryngeal nerve", "侵犯喉返神经";
        /// T4.
        Esophagus = "esophagus", "invades the esophagus", "侵犯食管";
        /// T4.
        VertebralBody = "vertebral_body", "invades a vertebral body", "侵犯椎体";
        /// T4.
        Carina = "carina", "invades the carina", "侵犯隆突";
        /// T4.
        SeparateNoduleIpsilateralLobe = "separate_nodule_ipsilateral_lobe",
            "separate tumour nodule(s) in a different ipsilateral lobe", "同侧不同肺叶内出现孤立癌结节";
    }
}

vocabulary! {
    /// Exocrine pancreas: the arteries whose involvement makes T4 regardless of size.
    PancreasDescriptor {
        CeliacAxis = "celiac_axis", "involves the celiac axis", "累及腹腔干";
        SuperiorMesentericArtery = "superior_mesenteric_artery", "involves the superior mesenteric artery", "累及肠系膜上动脉";
        CommonHepaticArtery = "common_hepatic_artery", "involves the common hepatic artery", "累及肝总动脉";
    }
}

vocabulary! {
    /// Kidney: extension beyond the renal parenchyma (T3a to T4).
    KidneyDescriptor {
        /// T3a.
        RenalVein = "renal_vein", "extends into the renal vein or its segmental branches", "侵及肾静脉或其分段分支";
        /// T3a.
        PelvicalycealSystem = "pelvicalyceal_system", "invades the pelvicalyceal system", "侵犯肾盂肾盏系统";
        /// T3a.
        PerirenalFat = "perirenal_fat", "invades perirenal fat, not beyond Gerota's fascia", "侵犯肾周脂肪，未超出肾周筋膜（Gerota 筋膜）";
        /// T3a.
        RenalSinusFat = "renal_sinus_fat", "invades renal sinus fat, not beyond Gerota's fascia", "侵犯肾窦脂肪，未超出肾周筋膜（Gerota 筋膜）";
        /// T3b.
        IvcBelowDiaphragm = "ivc_below_diaphragm", "extends into the vena cava below the diaphragm", "侵及膈下的下腔静脉";
        /// T3c.
        IvcAboveDiaphragm = "ivc_above_diaphragm", "extends into the vena cava above the diaphragm", "侵及膈上的下腔静脉";
        /// T3c.
        IvcWall = "ivc_wall", "invades the wall of the vena cava", "侵犯下腔静脉壁";
        /// T4.
        BeyondGerotaFascia = "beyond_gerota_fascia", "invades beyond Gerota's fascia", "侵犯超出肾周筋膜（Gerota 筋膜）";
        /// T4 (a separate, non-contiguous adrenal metastasis is M1: give the distant site `adrenal`).
        IpsilateralAdrenalContiguous = "ipsilateral_adrenal_contiguous",
            "contiguous extension into the ipsilateral adrenal gland", "直接侵犯同侧肾上腺";
    }
}

vocabulary! {
    /// Breast: chest wall and skin (T4). Invasion of the dermis alone, and of the pectoralis
    /// muscle without the chest wall, is not T4.
    BreastDescriptor {
        /// T4a.
        ChestWall = "chest_wall", "extends to the chest wall (not the pectoralis muscle alone)", "侵犯胸壁（不包括单纯胸肌受侵）";
        /// T4b.
        SkinUlceration = "skin_ulceration", "ulceration of the skin", "皮肤溃疡";
        /// T4b.
        SkinSatelliteNodules = "skin_satellite_nodules", "ipsilateral macroscopic satellite skin nodules", "同侧肉眼可见的皮肤卫星结节";
        /// T4b.
        SkinEdema = "skin_edema",
            "edema of the skin (including peau d'orange) not meeting the criteria of inflammatory carcinoma", "皮肤水肿（包括橘皮样变），未达到炎性乳腺癌的标准";
        /// T4d (a clinical diagnosis: erythema and edema of a third or more of the breast skin).
        Inflammatory = "inflammatory", "inflammatory carcinoma", "炎性乳腺癌";
    }
}

vocabulary! {
    /// Hepatocellular carcinoma: vascular invasion and the findings that make T4.
    LiverDescriptor {
        /// Decides T2 for a solitary tumour > 20 mm.
        VascularInvasion = "vascular_invasion", "vascular invasion", "血管侵犯";
        /// T4.
        MajorPortalVeinBranch = "major_portal_vein_branch", "involves a major branch of the portal vein", "累及门静脉主要分支";
        /// T4.
        MajorHepaticVeinBranch = "major_hepatic_vein_branch", "involves a major branch of the hepatic veins", "累及肝静脉主要分支";
        /// T4.
        AdjacentOrgan = "adjacent_organ", "directly invades an adjacent organ other than the gallbladder", "直接侵犯胆囊以外的邻近器官";
        /// T4.
        VisceralPeritoneumPerforation = "visceral_peritoneum_perforation", "perforates the visceral peritoneum", "穿透脏层腹膜";
    }
}

vocabulary! {
    /// Larynx: extension of the primary, defined per subsite ([`LarynxDescriptor::of_subsite`]).
    LarynxDescriptor {
        /// Supraglottis T1.
        OneSupraglotticSubsite = "one_supraglottic_subsite",
            "limited to one subsite of the supraglottis with normal vocal cord mobility", "局限于声门上区一个亚区，声带活动正常";
        /// Supraglottis T2.
        AdjacentSupraglotticSubsites = "adjacent_supraglottic_subsites",
            "invades the mucosa of more than one adjacent subsite of the supraglottis", "侵犯声门上区一个以上相邻亚区的黏膜";
        /// Supraglottis T2.
        GlottisMucosa = "glottis_mucosa", "invades the mucosa of the glottis", "侵犯声门区黏膜";
        /// Supraglottis T2.
        OutsideSupraglottisMucosa = "outside_supraglottis_mucosa",
            "invades mucosa outside the supraglottis (base of tongue, vallecula, medial wall of pyriform sinus)", "侵犯声门上区以外的黏膜（舌根、会厌谷、梨状窝内侧壁）";
        /// Supraglottis T3.
        PostcricoidArea = "postcricoid_area", "invades the postcricoid area", "侵犯环后区";
        /// Supraglottis T3.
        PreepiglotticSpace = "preepiglottic_space", "invades the preepiglottic space", "侵犯会厌前间隙";
        /// Glottis T1a.
        OneVocalCord = "one_vocal_cord", "limited to one vocal cord with normal mobility", "局限于一侧声带，活动正常";
        /// Glottis T1b.
        BothVocalCords = "both_vocal_cords", "involves both vocal cords with normal mobility", "累及双侧声带，活动正常";
        /// Glottis T2.
        SupraglottisExtension = "supraglottis_extension", "extends to the supraglottis", "侵及声门上区";
        /// Glottis T2.
        SubglottisExtension = "subglottis_extension", "extends to the subglottis", "侵及声门下区";
        /// Glottis T2.
        ImpairedVocalCordMobility = "impaired_vocal_cord_mobility", "impaired vocal cord mobility", "声带活动受限";
        /// Subglottis T1.
        LimitedToSubglottis = "limited_to_subglottis", "limited to the subglottis", "局限于声门下区";
        /// Subglottis T2.
        VocalCordExtension = "vocal_cord_extension",
            "extends to the vocal cord(s), with normal or impaired mobility", "侵及声带，声带活动正常或受限";
        /// T3.
        VocalCordFixation = "vocal_cord_fixation", "vocal cord fixation", "声带固定";
        /// T3.
        ParaglotticSpace = "paraglottic_space", "invades the paraglottic space", "侵犯声门旁间隙";
        /// T3.
        InnerThyroidCortex = "inner_thyroid_cortex", "invades the inner cortex of the thyroid cartilage", "侵犯甲状软骨内板";
        /// T4a.
        OuterThyroidCortex = "outer_thyroid_cortex", "invades through the outer cortex of the thyroid cartilage", "穿透甲状软骨外板";
        /// Glottis and subglottis T4a.
        CricoidCartilage = "cricoid_cartilage", "invades the cricoid cartilage", "侵犯环状软骨";
        /// T4a.
        ExtralaryngealTissues = "extralaryngeal_tissues",
            "invades tissues beyond the larynx (trachea, soft tissues of the neck including deep extrinsic \
             muscles of the tongue, strap muscles, thyroid, esophagus)", "侵犯喉外组织（气管、包括舌外肌在内的颈部软组织、带状肌、甲状腺、食管）";
        /// T4b.
        PrevertebralSpace = "prevertebral_space", "invades the prevertebral space", "侵犯椎前间隙";
        /// T4b.
        CarotidEncasement = "carotid_encasement", "encases the carotid artery", "包绕颈动脉";
        /// T4b.
        MediastinalStructures = "mediastinal_structures", "invades mediastinal structures", "侵犯纵隔结构";
    }
}

impl LarynxDescriptor {
    /// The descriptors a subsite's T definitions use.
    pub fn of_subsite(subsite: Subsite) -> &'static [LarynxDescriptor] {
        use LarynxDescriptor as D;
        match subsite {
            Subsite::Supraglottic => &[
                D::OneSupraglotticSubsite,
                D::AdjacentSupraglotticSubsites,
                D::GlottisMucosa,
                D::OutsideSupraglottisMucosa,
                D::VocalCordFixation,
                D::PostcricoidArea,
                D::PreepiglotticSpace,
                D::ParaglotticSpace,
                D::InnerThyroidCortex,
                D::OuterThyroidCortex,
                D::ExtralaryngealTissues,
                D::PrevertebralSpace,
                D::CarotidEncasement,
                D::MediastinalStructures,
            ],
            Subsite::Glottic => &[
                D::OneVocalCord,
                D::BothVocalCords,
                D::SupraglottisExtension,
                D::SubglottisExtension,
                D::ImpairedVocalCordMobility,
                D::VocalCordFixation,
                D::ParaglotticSpace,
                D::InnerThyroidCortex,
                D::OuterThyroidCortex,
                D::CricoidCartilage,
                D::ExtralaryngealTissues,
                D::PrevertebralSpace,
                D::CarotidEncasement,
                D::MediastinalStructures,
            ],
            Subsite::Subglottic => &[
                D::LimitedToSubglottis,
                D::VocalCordExtension,
                D::VocalCordFixation,
                D::ParaglotticSpace,
                D::InnerThyroidCortex,
                D::CricoidCartilage,
                D::OuterThyroidCortex,
                D::ExtralaryngealTissues,
                D::PrevertebralSpace,
                D::CarotidEncasement,
                D::MediastinalStructures,
            ],
        }
    }
}

vocabulary! {
    /// Stomach: the T4 findings (the depth of invasion that sets T1 to T3 is not measured).
    StomachDescriptor {
        /// T4a.
        Serosa = "serosa", "invades the serosa (visceral peritoneum)", "侵犯浆膜（脏层腹膜）";
        /// T4b.
        AdjacentStructures = "adjacent_structures",
            "invades adjacent structures or organs (spleen, transverse colon, liver, diaphragm, pancreas, \
             abdominal wall, adrenal gland, kidney, small intestine, retroperitoneum)", "侵犯邻近结构或器官（脾、横结肠、肝、膈肌、胰腺、腹壁、肾上腺、肾、小肠、腹膜后）";
    }
}

vocabulary! {
    /// Colon and rectum: the T4 findings.
    ColorectalDescriptor {
        /// T4a.
        VisceralPeritoneum = "visceral_peritoneum",
            "invades through the visceral peritoneum (including gross perforation of the bowel through tumour)", "穿透脏层腹膜（包括肿瘤导致的肉眼可见肠穿孔）";
        /// T4b.
        AdjacentOrgans = "adjacent_organs", "directly invades or adheres to adjacent organs or structures", "直接侵犯或粘连于邻近器官或结构";
    }
}

vocabulary! {
    /// Esophagus: the T4 findings.
    EsophagusDescriptor {
        /// T4a.
        Pleura = "pleura", "invades the pleura", "侵犯胸膜";
        /// T4a.
        Pericardium = "pericardium", "invades the pericardium", "侵犯心包";
        /// T4a.
        AzygosVein = "azygos_vein", "invades the azygos vein", "侵犯奇静脉";
        /// T4a.
        Diaphragm = "diaphragm", "invades the diaphragm", "侵犯膈肌";
        /// T4a.
        Peritoneum = "peritoneum", "invades the peritoneum", "侵犯腹膜";
        /// T4b.
        Aorta = "aorta", "invades the aorta", "侵犯主动脉";
        /// T4b.
        VertebralBody = "vertebral_body", "invades a vertebral body", "侵犯椎体";
        /// T4b.
        Airway = "airway", "invades the airway", "侵犯气道";
    }
}

vocabulary! {
    /// Lung: where involved nodes lie, by the IASLC map, sides relative to the primary. N1 nodes
    /// need no station (their number does not matter); N2 nodes are named by station, which the
    /// 9th edition counts. Stations 5 and 6 lie on the left: for a right-sided primary give them as
    /// `contralateral_mediastinal`.
    LungStation {
        /// N1 (station 10).
        IpsilateralHilar = "ipsilateral_hilar", "ipsilateral hilar", "同侧肺门";
        /// N1 (stations 11 to 14, along the bronchi).
        IpsilateralPeribronchial = "ipsilateral_peribronchial", "ipsilateral peribronchial", "同侧支气管周围";
        /// N1 (stations 11 to 14, within the lung).
        IpsilateralIntrapulmonary = "ipsilateral_intrapulmonary", "ipsilateral intrapulmonary", "同侧肺内";
        /// N2 (station 2).
        IpsilateralUpperParatracheal = "ipsilateral_upper_paratracheal", "ipsilateral upper paratracheal (2)", "同侧上气管旁（2 组）";
        /// N2 (station 3a).
        Prevascular = "prevascular", "prevascular (3a)", "血管前（3a 组）";
        /// N2 (station 3p).
        Retrotracheal = "retrotracheal", "retrotracheal (3p)", "气管后（3p 组）";
        /// N2 (station 4).
        IpsilateralLowerParatracheal = "ipsilateral_lower_paratracheal", "ipsilateral lower paratracheal (4)", "同侧下气管旁（4 组）";
        /// N2 for a left-sided primary (station 5).
        Subaortic = "subaortic", "subaortic (5)", "主动脉弓下（5 组）";
        /// N2 for a left-sided primary (station 6).
        ParaAortic = "para_aortic", "para-aortic (6)", "主动脉旁（6 组）";
        /// N2 (station 7).
        Subcarinal = "subcarinal", "subcarinal (7)", "隆突下（7 组）";
        /// N2 (station 8).
        IpsilateralParaesophageal = "ipsilateral_paraesophageal", "ipsilateral paraesophageal (8)", "同侧食管旁（8 组）";
        /// N2 (station 9).
        IpsilateralPulmonaryLigament = "ipsilateral_pulmonary_ligament", "ipsilateral pulmonary ligament (9)", "同侧下肺韧带（9 组）";
        /// N3.
        ContralateralMediastinal = "contralateral_mediastinal", "contralateral mediastinal", "对侧纵隔";
        /// N3.
        ContralateralHilar = "contralateral_hilar", "contralateral hilar", "对侧肺门";
        /// N3 (either side).
        Scalene = "scalene", "scalene", "斜角肌";
        /// N3 (either side; station 1).
        Supraclavicular = "supraclavicular", "supraclavicular", "锁骨上";
    }
}

impl LungStation {
    /// The N category of a single station (8th edition names).
    fn n(self) -> u8 {
        use LungStation as S;
        match self {
            S::IpsilateralHilar | S::IpsilateralPeribronchial | S::IpsilateralIntrapulmonary => 1,
            S::IpsilateralUpperParatracheal
            | S::Prevascular
            | S::Retrotracheal
            | S::IpsilateralLowerParatracheal
            | S::Subaortic
            | S::ParaAortic
            | S::Subcarinal
            | S::IpsilateralParaesophageal
            | S::IpsilateralPulmonaryLigament => 2,
            S::ContralateralMediastinal | S::ContralateralHilar | S::Scalene | S::Supraclavicular => 3,
        }
    }
}

vocabulary! {
    /// Breast (clinical N): where involved nodes lie. Intramammary nodes count as axillary;
    /// contralateral nodes are distant metastases (distant site `distant_nodes`).
    BreastStation {
        /// N1.
        IpsilateralAxillary = "ipsilateral_axillary", "movable ipsilateral level I-II axillary node(s)", "同侧 I、II 级腋窝可活动淋巴结";
        /// N2a.
        IpsilateralAxillaryFixed = "ipsilateral_axillary_fixed",
            "ipsilateral level I-II axillary nodes fixed to one another (matted) or to other structures", "同侧 I、II 级腋窝淋巴结相互融合或与其他组织固定";
        /// N2b alone, N3b with level I-II axillary nodes.
        IpsilateralInternalMammary = "ipsilateral_internal_mammary", "ipsilateral internal mammary node(s)", "同侧内乳淋巴结";
        /// N3a.
        IpsilateralInfraclavicular = "ipsilateral_infraclavicular",
            "ipsilateral infraclavicular (level III axillary) node(s)", "同侧锁骨下（III 级腋窝）淋巴结";
        /// N3c.
        IpsilateralSupraclavicular = "ipsilateral_supraclavicular", "ipsilateral supraclavicular node(s)", "同侧锁骨上淋巴结";
    }
}

vocabulary! {
    /// Larynx (clinical N): the side of the neck the involved nodes are on, relative to the primary.
    /// Midline nodes count as ipsilateral (AJCC).
    NeckSide {
        Ipsilateral = "ipsilateral", "ipsilateral", "同侧";
        Contralateral = "contralateral", "contralateral", "对侧";
    }
}

vocabulary! {
    /// Where distant metastases are. The first five are lung cancer's intrathoracic (M1a) sites;
    /// the rest are organ systems, for every cancer (lung cancer: the extrathoracic ones). `other`
    /// stands for one organ not listed.
    DistantSite {
        PleuralNodules = "pleural_nodules", "pleural tumour nodules", "胸膜转移结节";
        MalignantPleuralEffusion = "malignant_pleural_effusion", "malignant pleural effusion", "恶性胸腔积液";
        PericardialNodules = "pericardial_nodules", "pericardial tumour nodules", "心包转移结节";
        MalignantPericardialEffusion = "malignant_pericardial_effusion", "malignant pericardial effusion", "恶性心包积液";
        ContralateralLung = "contralateral_lung", "tumour nodule(s) in the contralateral lung", "对侧肺内癌结节";
        Lung = "lung", "lung", "肺";
        Pleura = "pleura", "pleura", "胸膜";
        Liver = "liver", "liver", "肝";
        Bone = "bone", "bone", "骨";
        Brain = "brain", "brain", "脑";
        Adrenal = "adrenal", "adrenal gland", "肾上腺";
        Peritoneum = "peritoneum", "peritoneum", "腹膜";
        DistantNodes = "distant_nodes", "non-regional lymph nodes", "非区域淋巴结";
        Ovary = "ovary", "ovary", "卵巢";
        Skin = "skin", "skin or soft tissue", "皮肤或软组织";
        Other = "other", "another organ", "其他器官";
    }
}

impl DistantSite {
    /// Lung cancer's intrathoracic sites (M1a).
    pub fn intrathoracic(self) -> bool {
        matches!(
            self,
            DistantSite::PleuralNodules
                | DistantSite::MalignantPleuralEffusion
                | DistantSite::PericardialNodules
                | DistantSite::MalignantPericardialEffusion
                | DistantSite::ContralateralLung
        )
    }

    /// The sites a cancer's M is derived from.
    pub fn valid(cancer: Cancer) -> Vec<DistantSite> {
        let lung = cancer == Cancer::Lung;
        DistantSite::ALL
            .iter()
            .copied()
            .filter(|s| if lung { !matches!(s, DistantSite::Lung | DistantSite::Pleura) } else { !s.intrathoracic() })
            .collect()
    }
}

/// Joins per-cancer vocabularies into one type for [`Measurements`], written on the wire as the
/// inner term's name; `From` each inner vocabulary.
macro_rules! union {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($inner:ident) = $cancer:ident,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant($inner),)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant(inner) => inner.as_str(),)+
                }
            }

            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant(inner) => inner.label(),)+
                }
            }

            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant(inner) => inner.label_zh(),)+
                }
            }

            /// The cancer whose vocabulary the term is from.
            pub fn cancer(self) -> Cancer {
                match self {
                    $($name::$variant(_) => Cancer::$cancer,)+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        $(impl From<$inner> for $name {
            fn from(inner: $inner) -> $name {
                $name::$variant(inner)
            }
        })+
    };
}

union! {
    /// A finding about the primary tumour, from the cancer's vocabulary.
    Descriptor {
        Lung(LungDescriptor) = Lung,
        Pancreas(PancreasDescriptor) = Pancreas,
        Kidney(KidneyDescriptor) = Kidney,
        Breast(BreastDescriptor) = Breast,
        Liver(LiverDescriptor) = Liver,
        Larynx(LarynxDescriptor) = Larynx,
        Stomach(StomachDescriptor) = Stomach,
        Colorectal(ColorectalDescriptor) = Colorectal,
        Esophagus(EsophagusDescriptor) = Esophagus,
    }
}

union! {
    /// Where involved regional nodes lie, for the cancers whose N depends on it.
    Station {
        Lung(LungStation) = Lung,
        Breast(BreastStation) = Breast,
        Larynx(NeckSide) = Larynx,
    }
}

fn wrap<T: Copy, U>(items: &[T], f: fn(T) -> U) -> Vec<U> {
    items.iter().copied().map(f).collect()
}

impl Descriptor {
    /// The descriptors valid for a cancer (and, for the larynx, a subsite: none without one).
    pub fn valid(cancer: Cancer, subsite: Option<Subsite>) -> Vec<Descriptor> {
        match cancer {
            Cancer::Lung => wrap(LungDescriptor::ALL, Descriptor::Lung),
            Cancer::Pancreas => wrap(PancreasDescriptor::ALL, Descriptor::Pancreas),
            Cancer::Kidney => wrap(KidneyDescriptor::ALL, Descriptor::Kidney),
            Cancer::Breast => wrap(BreastDescriptor::ALL, Descriptor::Breast),
            Cancer::Liver => wrap(LiverDescriptor::ALL, Descriptor::Liver),
            Cancer::Larynx => {
                subsite.map(|s| wrap(LarynxDescriptor::of_subsite(s), Descriptor::Larynx)).unwrap_or_default()
            }
            Cancer::Stomach => wrap(StomachDescriptor::ALL, Descriptor::Stomach),
            Cancer::Colorectal => wrap(ColorectalDescriptor::ALL, Descriptor::Colorectal),
            Cancer::Esophagus => wrap(EsophagusDescriptor::ALL, Descriptor::Esophagus),
        }
    }
}

impl Station {
    /// The stations valid for a cancer; empty where N is derived from the count alone.
    pub fn valid(cancer: Cancer) -> Vec<Station> {
        match cancer {
            Cancer::Lung => wrap(LungStation::ALL, Station::Lung),
            Cancer::Breast => wrap(BreastStation::ALL, Station::Breast),
            Cancer::Larynx => wrap(NeckSide::ALL, Station::Larynx),
            _ => Vec::new(),
        }
    }
}

/// What imaging measured. Every field is optional; what is missing leaves the category it decides
/// underived, with a rule saying so.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Measurements {
    /// Greatest dimension of the primary tumour, mm (lung: of the solid component of a part-solid
    /// nodule; liver: of the largest tumour).
    pub tumor_size_mm: Option<f64>,
    /// Liver: the number of tumours.
    pub tumor_count: Option<u32>,
    /// Findings about the primary, from the cancer's vocabulary ([`Descriptor::valid`]).
    pub descriptors: Vec<Descriptor>,
    /// Regional nodes counted as involved (for example by [`NODE_SHORT_AXIS_MM`]); `Some(0)`: none,
    /// which is N0.
    pub involved_nodes: Option<u32>,
    /// Lung, breast, larynx: where the involved nodes lie ([`Station::valid`]).
    pub node_stations: Vec<Station>,
    /// Larynx: greatest dimension of the largest involved node, mm.
    pub largest_node_mm: Option<f64>,
    /// Larynx: clinically overt extranodal extension (AJCC: on examination, supported by imaging).
    pub extranodal_extension: Option<bool>,
    /// Where distant metastases are ([`DistantSite::valid`]); `None`: not assessed, `Some(empty)`:
    /// none, which is M0.
    pub distant: Option<Vec<DistantSite>>,
    /// Lung: the number of extrathoracic metastatic lesions (M1b: one; M1c: several).
    pub extrathoracic_lesions: Option<u32>,
}

/// The JSON body of a derivation request: `{"cancer":"lung","tumor_size_mm":23,"descriptors":
/// ["visceral_pleura"],"involved_nodes":1,"node_stations":["subcarinal"],"distant":[]}`. Terms are
/// strings here so that an unknown one is refused with the valid list ([`DeriveError::Unknown`])
/// rather than serde's message, which repeats the input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveInput {
    pub cancer: String,
    /// `ajcc8` (the default) or `ajcc9`.
    #[serde(default)]
    pub edition: Option<String>,
    /// Larynx only: `supraglottic`, `glottic` or `subglottic`.
    #[serde(default)]
    pub subsite: Option<String>,
    #[serde(default)]
    pub tumor_size_mm: Option<f64>,
    #[serde(default)]
    pub tumor_count: Option<u32>,
    #[serde(default)]
    pub descriptors: Vec<String>,
    #[serde(default)]
    pub involved_nodes: Option<u32>,
    #[serde(default)]
    pub node_stations: Vec<String>,
    #[serde(default)]
    pub largest_node_mm: Option<f64>,
    #[serde(default)]
    pub extranodal_extension: Option<bool>,
    #[serde(default)]
    pub distant: Option<Vec<String>>,
    #[serde(default)]
    pub extrathoracic_lesions: Option<u32>,
}

/// A parsed [`DeriveInput`]: the arguments of [`derive()`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeriveRequest {
    pub cancer: Cancer,
    pub edition: Edition,
    pub subsite: Option<Subsite>,
    pub measurements: Measurements,
}

impl DeriveInput {
    /// Parses the terms, refusing an unknown one with the valid list.
    pub fn parse(&self) -> Result<DeriveRequest, DeriveError> {
        let cancer = Cancer::parse(&self.cancer).ok_or_else(|| {
            let context = said!("not a cancer staged here", "不是此处分期的癌种");
            unknown("cancer", context, Cancer::ALL.map(Cancer::as_str).to_vec())
        })?;
        let edition = match &self.edition {
            None => Edition::default(),
            Some(name) => Edition::parse(name).ok_or_else(|| {
                unknown(
                    "edition",
                    said!("not an edition", "不是可用的分期版本"),
                    Edition::ALL.map(Edition::as_str).to_vec(),
                )
            })?,
        };
        let subsite = match &self.subsite {
            None => None,
            Some(name) => Some(Subsite::parse(name).ok_or_else(|| {
                let context = said!("not a laryngeal subsite", "不是喉的亚区");
                unknown("subsite", context, Subsite::ALL.map(Subsite::as_str).to_vec())
            })?),
        };
        check_qualifiers(cancer, edition, subsite)?;

        let descriptors = terms(&self.descriptors, &Descriptor::valid(cancer, subsite), Descriptor::as_str)
            .map_err(|e| descriptor_error(cancer, subsite, e))?;
        let stations = Station::valid(cancer);
        if stations.is_empty() && !self.node_stations.is_empty() {
            return Err(DeriveError::NotUsed { field: "node_stations", cancer });
        }
        let node_stations = terms(&self.node_stations, &stations, Station::as_str)
            .map_err(|valid| unknown("node_stations", not_a_station(cancer), valid))?;
        let distant = match &self.distant {
            None => None,
            Some(names) => Some(
                terms(names, &DistantSite::valid(cancer), DistantSite::as_str)
                    .map_err(|valid| unknown("distant", not_a_distant_site(cancer), valid))?,
            ),
        };
        Ok(DeriveRequest {
            cancer,
            edition,
            subsite,
            measurements: Measurements {
                tumor_size_mm: self.tumor_size_mm,
                tumor_count: self.tumor_count,
                descriptors,
                involved_nodes: self.involved_nodes,
                node_stations,
                largest_node_mm: self.largest_node_mm,
                extranodal_extension: self.extranodal_extension,
                distant,
                extrathoracic_lesions: self.extrathoracic_lesions,
            },
        })
    }

    /// Parses, then derives.
    pub fn derive(&self) -> Result<Derived, DeriveError> {
        let request = self.parse()?;
        derive(request.cancer, request.edition, request.subsite, &request.measurements)
    }
}

/// Each name looked up in `valid`; on the first unknown one, the valid names.
fn terms<T: Copy>(names: &[String], valid: &[T], as_str: fn(T) -> &'static str) -> Result<Vec<T>, Vec<&'static str>> {
    names
        .iter()
        .map(|name| valid.iter().copied().find(|v| as_str(*v) == name.as_str()))
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| valid.iter().copied().map(as_str).collect())
}

fn unknown(field: &'static str, context: Said, valid: Vec<&'static str>) -> DeriveError {
    DeriveError::Unknown { field, context, valid }
}

fn not_a_station(cancer: Cancer) -> Said {
    said!(("not a lymph node station of {cancer}"), ("不是{}的淋巴结分区", cancer.label_zh()))
}

fn not_a_distant_site(cancer: Cancer) -> Said {
    said!(("not a distant site of {cancer}"), ("不是{}的远处转移部位", cancer.label_zh()))
}

fn descriptor_error(cancer: Cancer, subsite: Option<Subsite>, valid: Vec<&'static str>) -> DeriveError {
    match (cancer, subsite) {
        (Cancer::Larynx, None) => DeriveError::SubsiteRequired,
        (Cancer::Larynx, Some(s)) => {
            let context = said!(
                ("not a descriptor of {cancer} ({})", s.as_str()),
                ("不是{}（{}）的描述项", cancer.label_zh(), s.as_str())
            );
            unknown("descriptors", context, valid)
        }
        _ => unknown(
            "descriptors",
            said!(("not a descriptor of {cancer}"), ("不是{}的描述项", cancer.label_zh())),
            valid,
        ),
    }
}

/// T, N or M.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    T,
    N,
    M,
}

impl Axis {
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::T => "t",
            Axis::N => "n",
            Axis::M => "m",
        }
    }
}

/// A rule applied (or the reason none could be), in both languages; the REST API writes the
/// English (its language): `{"category":"t","rule":"T2a: tumour > 30 mm and <= 40 mm (AJCC 8th,
/// lung)"}`, the page the reader's ("T2a：肿瘤最大径 > 30 mm 且 ≤ 40 mm（AJCC 第 8 版，肺癌）").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub category: Axis,
    #[serde(serialize_with = "english")]
    pub rule: Said,
}

fn english<S: Serializer>(said: &Said, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&said.en)
}

/// The derived categories, as the cancer's table spells them, and the rules that gave them:
/// `{"t":"T2a","n":"N2","m":null,"rules":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Derived {
    pub t: Option<&'static str>,
    pub n: Option<&'static str>,
    pub m: Option<&'static str>,
    pub rules: Vec<Rule>,
}

/// Measurements the rules cannot take. Messages never repeat the input: they name the field and
/// what it may be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    #[error(transparent)]
    Staging(#[from] StagingError),
    #[error("{field}: {context}; valid: {}", valid.join(", "))]
    Unknown { field: &'static str, context: Said, valid: Vec<&'static str> },
    #[error(
        "subsite: laryngeal T descriptors are defined per subsite; one of supraglottic, glottic, subglottic is required"
    )]
    SubsiteRequired,
    #[error("{field}: not used to derive {cancer} categories")]
    NotUsed { field: &'static str, cancer: Cancer },
    #[error("{field}: must be a number of millimetres greater than 0 and at most 500")]
    Size { field: &'static str },
    #[error("{field}: {reason}")]
    Inconsistent { field: &'static str, reason: Said },
}

impl DeriveError {
    /// The message without its leading `field: `, in both languages.
    pub fn said(&self) -> Said {
        match self {
            DeriveError::Staging(e) => e.said(),
            DeriveError::Unknown { context, valid, .. } => Said::not_one_of(context.clone(), valid),
            DeriveError::SubsiteRequired => said!(
                "laryngeal T descriptors are defined per subsite; one of supraglottic, glottic, subglottic is required",
                "喉癌的 T 描述项按亚区定义；须为 supraglottic, glottic, subglottic 之一"
            ),
            DeriveError::NotUsed { cancer, .. } => {
                said!(("not used to derive {cancer} categories"), ("不用于推导{}的分类", cancer.label_zh()))
            }
            DeriveError::Size { .. } => said!(
                "must be a number of millimetres greater than 0 and at most 500",
                "须为大于 0 且不超过 500 的毫米数"
            ),
            DeriveError::Inconsistent { reason, .. } => reason.clone(),
        }
    }

    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            DeriveError::Staging(e) => e.field(),
            DeriveError::SubsiteRequired => "subsite",
            DeriveError::Unknown { field, .. }
            | DeriveError::NotUsed { field, .. }
            | DeriveError::Size { field }
            | DeriveError::Inconsistent { field, .. } => field,
        }
    }
}

fn check_qualifiers(cancer: Cancer, edition: Edition, subsite: Option<Subsite>) -> Result<(), StagingError> {
    if !cancer.editions().contains(&edition) {
        return Err(StagingError::EditionNotAvailable { cancer, available: cancer.editions() });
    }
    if subsite.is_some() && !cancer.has_subsites() {
        return Err(StagingError::SubsiteNotUsed { cancer });
    }
    Ok(())
}

/// Derives T, N and M from the measurements, each with the rule applied.
pub fn derive(
    cancer: Cancer,
    edition: Edition,
    subsite: Option<Subsite>,
    measurements: &Measurements,
) -> Result<Derived, DeriveError> {
    check_qualifiers(cancer, edition, subsite)?;
    let m = measurements;
    let size = checked_size("tumor_size_mm", m.tumor_size_mm)?;
    let largest_node = checked_size("largest_node_mm", m.largest_node_mm)?;
    check_terms(cancer, subsite, m)?;
    check_used(cancer, m)?;
    check_counts(m)?;

    let mut out = Out { rules: Vec::new(), cite: cite(cancer, edition, subsite) };
    let descriptors = BTreeSet::from_iter(m.descriptors.iter().copied());
    let stations = BTreeSet::from_iter(m.node_stations.iter().copied());
    let t = match cancer {
        Cancer::Lung => lung_t(size, &descriptors, &mut out),
        Cancer::Pancreas => sized_t(PANCREAS_SIZE, PANCREAS_T, size, &descriptors, pancreas_descriptor, &mut out),
        Cancer::Kidney => sized_t(KIDNEY_SIZE, KIDNEY_T, size, &descriptors, kidney_descriptor, &mut out),
        Cancer::Breast => breast_t(size, &descriptors, &mut out),
        Cancer::Liver => liver_t(size, m.tumor_count, &descriptors, &mut out),
        Cancer::Larynx => larynx_t(subsite, size, &descriptors, &mut out),
        Cancer::Stomach | Cancer::Colorectal | Cancer::Esophagus => depth_t(size, &descriptors, &mut out),
    };
    let n = match cancer {
        Cancer::Lung => lung_n(edition, m.involved_nodes, &stations, &mut out),
        Cancer::Breast => breast_n(m.involved_nodes, &stations, &mut out),
        Cancer::Larynx => larynx_n(m, largest_node, &stations, &mut out),
        Cancer::Pancreas => counted_n(PANCREAS_N, m.involved_nodes, &mut out),
        Cancer::Kidney | Cancer::Liver => counted_n(ANY_NODE_N, m.involved_nodes, &mut out),
        Cancer::Stomach | Cancer::Esophagus => counted_n(UPPER_GI_N, m.involved_nodes, &mut out),
        Cancer::Colorectal => counted_n(COLORECTAL_N, m.involved_nodes, &mut out),
    };
    let sites = m.distant.as_ref().map(|d| BTreeSet::from_iter(d.iter().copied()));
    let distant = match cancer {
        Cancer::Lung => lung_m(edition, sites.as_ref(), m.extrathoracic_lesions, &mut out),
        Cancer::Colorectal => colorectal_m(sites.as_ref(), &mut out),
        _ => any_m(sites.as_ref(), &mut out),
    };
    Ok(Derived { t, n, m: distant, rules: out.rules })
}

fn checked_size(field: &'static str, size: Option<f64>) -> Result<Option<f64>, DeriveError> {
    match size {
        Some(mm) if !(mm.is_finite() && mm > 0.0 && mm <= MAX_SIZE_MM) => Err(DeriveError::Size { field }),
        _ => Ok(size),
    }
}

/// Every term is from the cancer's vocabulary (a [`Measurements`] may be built in code).
fn check_terms(cancer: Cancer, subsite: Option<Subsite>, m: &Measurements) -> Result<(), DeriveError> {
    let descriptors = Descriptor::valid(cancer, subsite);
    if m.descriptors.iter().any(|d| !descriptors.contains(d)) {
        return Err(descriptor_error(cancer, subsite, descriptors.iter().map(|d| d.as_str()).collect()));
    }
    let stations = Station::valid(cancer);
    if stations.is_empty() && !m.node_stations.is_empty() {
        return Err(DeriveError::NotUsed { field: "node_stations", cancer });
    }
    if m.node_stations.iter().any(|s| !stations.contains(s)) {
        let valid = stations.iter().map(|s| s.as_str()).collect();
        return Err(unknown("node_stations", not_a_station(cancer), valid));
    }
    let sites = DistantSite::valid(cancer);
    if m.distant.iter().flatten().any(|s| !sites.contains(s)) {
        let valid = sites.iter().map(|s| s.as_str()).collect();
        return Err(unknown("distant", not_a_distant_site(cancer), valid));
    }
    Ok(())
}

/// The cancer-specific fields are refused elsewhere rather than ignored.
fn check_used(cancer: Cancer, m: &Measurements) -> Result<(), DeriveError> {
    let refused = [
        ("tumor_count", m.tumor_count.is_some() && cancer != Cancer::Liver),
        ("largest_node_mm", m.largest_node_mm.is_some() && cancer != Cancer::Larynx),
        ("extranodal_extension", m.extranodal_extension.is_some() && cancer != Cancer::Larynx),
        ("extrathoracic_lesions", m.extrathoracic_lesions.is_some() && cancer != Cancer::Lung),
    ];
    match refused.into_iter().find(|(_, refused)| *refused) {
        Some((field, _)) => Err(DeriveError::NotUsed { field, cancer }),
        None => Ok(()),
    }
}

fn check_counts(m: &Measurements) -> Result<(), DeriveError> {
    let inconsistent = |field, reason| Err(DeriveError::Inconsistent { field, reason });
    if m.tumor_count == Some(0) {
        return inconsistent("tumor_count", said!("at least 1 when given", "填写时至少为 1"));
    }
    let stations = BTreeSet::from_iter(m.node_stations.iter()).len();
    if let Some(nodes) = m.involved_nodes
        && (nodes as usize) < stations
    {
        return inconsistent(
            "involved_nodes",
            said!("fewer than the stations given as involved", "少于所填受累淋巴结分区的数目"),
        );
    }
    if m.involved_nodes == Some(0) && (m.largest_node_mm.is_some() || m.extranodal_extension == Some(true)) {
        return inconsistent(
            "involved_nodes",
            said!("0, yet a node size or extranodal extension is given", "为 0，但填写了淋巴结大小或包膜外侵犯"),
        );
    }
    let extrathoracic = m.distant.iter().flatten().filter(|s| !s.intrathoracic()).collect::<BTreeSet<_>>().len();
    match (m.extrathoracic_lesions, &m.distant) {
        (Some(_), None) => {
            inconsistent("distant", said!("required with extrathoracic_lesions", "填写 extrathoracic_lesions 时必填"))
        }
        (Some(lesions), Some(_)) if (lesions as usize) < extrathoracic || (lesions > 0) != (extrathoracic > 0) => {
            inconsistent(
                "extrathoracic_lesions",
                said!("does not match the extrathoracic sites given", "与所填胸外转移部位不符"),
            )
        }
        _ => Ok(()),
    }
}

/// The rules applied so far, each closed by the source.
struct Out {
    rules: Vec<Rule>,
    cite: Said,
}

impl Out {
    fn rule(&mut self, category: Axis, text: Said) {
        let cite = &self.cite;
        let rule = said!(("{} ({})", text.en, cite.en), ("{}（{}）", text.zh, cite.zh));
        self.rules.push(Rule { category, rule });
    }
}

/// The source of the rules: "AJCC 8th, larynx, glottic", "AJCC 第 8 版，喉癌，声门区".
fn cite(cancer: Cancer, edition: Edition, subsite: Option<Subsite>) -> Said {
    let (en, zh) = match edition {
        Edition::Ajcc8 => ("AJCC 8th", "AJCC 第 8 版"),
        Edition::Ajcc9 => ("AJCC 9th", "AJCC 第 9 版"),
    };
    let cancer_zh = cancer.label_zh();
    match subsite {
        Some(s) => said!(("{en}, {cancer}, {}", s.as_str()), ("{zh}，{cancer_zh}，{}", subsite_zh(s))),
        None => said!("{en}, {cancer}", "{zh}，{cancer_zh}"),
    }
}

/// A laryngeal subsite in Simplified Chinese (as the case page names it).
fn subsite_zh(subsite: Subsite) -> &'static str {
    match subsite {
        Subsite::Supraglottic => "声门上区",
        Subsite::Glottic => "声门区",
        Subsite::Subglottic => "声门下区",
    }
}

/// Labels joined: English with `en`, Chinese with `zh`.
fn joined<T: Copy>(
    items: &[T],
    en: &str,
    zh: &str,
    label: fn(T) -> &'static str,
    label_zh: fn(T) -> &'static str,
) -> Said {
    Said {
        en: items.iter().map(|i| label(*i)).collect::<Vec<_>>().join(en),
        zh: items.iter().map(|i| label_zh(*i)).collect::<Vec<_>>().join(zh),
    }
}

/// The most advanced of the categories found (by `order`), each with its reason; the rules list
/// every finding and, when there are several, which one decided.
fn most_advanced(
    order: &[&'static str],
    findings: Vec<(&'static str, Said)>,
    axis: Axis,
    out: &mut Out,
) -> Option<&'static str> {
    let rank = |c: &str| order.iter().position(|o| *o == c);
    let best = findings.iter().map(|(c, _)| *c).max_by_key(|c| rank(c))?;
    let several = findings.len() > 1;
    for (category, why) in findings {
        out.rule(axis, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
    }
    if several {
        out.rule(axis, said!("{best}: the most advanced of the findings above", "{best}：以上各项中最晚的分类"));
    }
    Some(best)
}

/// A size band: up to `limit` mm (inclusive or not).
struct Band {
    limit: f64,
    inclusive: bool,
    category: &'static str,
    text: &'static str,
    zh: &'static str,
}

const fn band(limit: f64, category: &'static str, text: &'static str, zh: &'static str) -> Band {
    Band { limit, inclusive: true, category, text, zh }
}

impl Band {
    fn said(&self) -> Said {
        Said::new(self.text, self.zh)
    }
}

fn by_size(bands: &'static [Band], mm: f64) -> &'static Band {
    bands
        .iter()
        .find(|b| if b.inclusive { mm <= b.limit } else { mm < b.limit })
        .or_else(|| bands.last())
        .expect("the last band is unbounded")
}

const LUNG_SIZE: &[Band] = &[
    band(10.0, "T1a", "tumour <= 10 mm", "肿瘤最大径 ≤ 10 mm"),
    band(20.0, "T1b", "tumour > 10 mm and <= 20 mm", "肿瘤最大径 > 10 mm 且 ≤ 20 mm"),
    band(30.0, "T1c", "tumour > 20 mm and <= 30 mm", "肿瘤最大径 > 20 mm 且 ≤ 30 mm"),
    band(40.0, "T2a", "tumour > 30 mm and <= 40 mm", "肿瘤最大径 > 30 mm 且 ≤ 40 mm"),
    band(50.0, "T2b", "tumour > 40 mm and <= 50 mm", "肿瘤最大径 > 40 mm 且 ≤ 50 mm"),
    band(70.0, "T3", "tumour > 50 mm and <= 70 mm", "肿瘤最大径 > 50 mm 且 ≤ 70 mm"),
    band(f64::INFINITY, "T4", "tumour > 70 mm", "肿瘤最大径 > 70 mm"),
];
const LUNG_T: &[&str] = &["T1a", "T1b", "T1c", "T2a", "T2b", "T3", "T4"];

fn lung_t(size: Option<f64>, descriptors: &BTreeSet<Descriptor>, out: &mut Out) -> Option<&'static str> {
    use LungDescriptor as D;
    let mut findings = Vec::new();
    if let Some(mm) = size {
        let band = by_size(LUNG_SIZE, mm);
        findings.push((band.category, band.said()));
    }
    for d in descriptors {
        let Descriptor::Lung(d) = *d else { continue };
        let category = match d {
            D::MainBronchus | D::VisceralPleura | D::AtelectasisToHilum => match size {
                Some(mm) if mm > 40.0 => "T2b",
                _ => "T2a",
            },
            D::ChestWall
            | D::ParietalPleura
            | D::SuperiorSulcus
            | D::PhrenicNerve
            | D::ParietalPericardium
            | D::SeparateNoduleSameLobe => "T3",
            D::Diaphragm
            | D::Mediastinum
            | D::Heart
            | D::GreatVessels
            | D::Trachea
            | D::RecurrentLaryngealNerve
            | D::Esophagus
            | D::VertebralBody
            | D::Carina
            | D::SeparateNoduleIpsilateralLobe => "T4",
        };
        let (label, zh) = (d.label(), d.label_zh());
        let why = match category {
            "T2a" => said!(
                "{label}; a T2 feature is T2a with a tumour <= 40 mm or of unknown size",
                "{zh}；T2 特征伴肿瘤最大径 ≤ 40 mm 或大小不明时为 T2a"
            ),
            "T2b" => said!(
                "{label}; a T2 feature is T2b with a tumour > 40 mm",
                "{zh}；T2 特征伴肿瘤最大径 > 40 mm 时为 T2b"
            ),
            _ => regardless_of_size(label, zh),
        };
        findings.push((category, why));
    }
    if findings.is_empty() {
        out.rule(Axis::T, neither_size_nor_descriptor());
        return None;
    }
    most_advanced(LUNG_T, findings, Axis::T, out)
}

/// "…, regardless of size".
fn regardless_of_size(label: &str, zh: &str) -> Said {
    said!("{label}, regardless of size", "{zh}，不论大小")
}

fn neither_size_nor_descriptor() -> Said {
    said!("T not derived: neither a tumour size nor a descriptor was given", "T 未推导：未提供肿瘤大小，也未提供描述项")
}

const PANCREAS_SIZE: &[Band] = &[
    band(5.0, "T1a", "tumour <= 5 mm", "肿瘤最大径 ≤ 5 mm"),
    Band {
        limit: 10.0,
        inclusive: false,
        category: "T1b",
        text: "tumour > 5 mm and < 10 mm",
        zh: "肿瘤最大径 > 5 mm 且 < 10 mm",
    },
    band(20.0, "T1c", "tumour >= 10 mm and <= 20 mm", "肿瘤最大径 ≥ 10 mm 且 ≤ 20 mm"),
    band(40.0, "T2", "tumour > 20 mm and <= 40 mm", "肿瘤最大径 > 20 mm 且 ≤ 40 mm"),
    band(f64::INFINITY, "T3", "tumour > 40 mm", "肿瘤最大径 > 40 mm"),
];
const PANCREAS_T: &[&str] = &["T1a", "T1b", "T1c", "T2", "T3", "T4"];

fn pancreas_descriptor(d: Descriptor) -> Option<&'static str> {
    match d {
        Descriptor::Pancreas(_) => Some("T4"),
        _ => None,
    }
}

const KIDNEY_SIZE: &[Band] = &[
    band(40.0, "T1a", "tumour <= 40 mm, limited to the kidney", "肿瘤最大径 ≤ 40 mm，局限于肾"),
    band(70.0, "T1b", "tumour > 40 mm and <= 70 mm, limited to the kidney", "肿瘤最大径 > 40 mm 且 ≤ 70 mm，局限于肾"),
    band(
        100.0,
        "T2a",
        "tumour > 70 mm and <= 100 mm, limited to the kidney",
        "肿瘤最大径 > 70 mm 且 ≤ 100 mm，局限于肾",
    ),
    band(f64::INFINITY, "T2b", "tumour > 100 mm, limited to the kidney", "肿瘤最大径 > 100 mm，局限于肾"),
];
const KIDNEY_T: &[&str] = &["T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4"];

fn kidney_descriptor(d: Descriptor) -> Option<&'static str> {
    use KidneyDescriptor as D;
    let Descriptor::Kidney(d) = d else { return None };
    Some(match d {
        D::RenalVein | D::PelvicalycealSystem | D::PerirenalFat | D::RenalSinusFat => "T3a",
        D::IvcBelowDiaphragm => "T3b",
        D::IvcAboveDiaphragm | D::IvcWall => "T3c",
        D::BeyondGerotaFascia | D::IpsilateralAdrenalContiguous => "T4",
    })
}

/// T from size bands and size-independent descriptors (pancreas, kidney).
fn sized_t(
    bands: &'static [Band],
    order: &[&'static str],
    size: Option<f64>,
    descriptors: &BTreeSet<Descriptor>,
    descriptor_t: fn(Descriptor) -> Option<&'static str>,
    out: &mut Out,
) -> Option<&'static str> {
    let mut findings = Vec::new();
    if let Some(mm) = size {
        let band = by_size(bands, mm);
        findings.push((band.category, band.said()));
    }
    for d in descriptors {
        if let Some(category) = descriptor_t(*d) {
            findings.push((category, regardless_of_size(d.label(), d.label_zh())));
        }
    }
    if findings.is_empty() {
        out.rule(Axis::T, neither_size_nor_descriptor());
        return None;
    }
    most_advanced(order, findings, Axis::T, out)
}

const BREAST_SIZE: &[Band] = &[
    band(1.0, "T1mi", "tumour <= 1 mm", "肿瘤最大径 ≤ 1 mm"),
    band(5.0, "T1a", "tumour > 1 mm and <= 5 mm", "肿瘤最大径 > 1 mm 且 ≤ 5 mm"),
    band(10.0, "T1b", "tumour > 5 mm and <= 10 mm", "肿瘤最大径 > 5 mm 且 ≤ 10 mm"),
    band(20.0, "T1c", "tumour > 10 mm and <= 20 mm", "肿瘤最大径 > 10 mm 且 ≤ 20 mm"),
    band(50.0, "T2", "tumour > 20 mm and <= 50 mm", "肿瘤最大径 > 20 mm 且 ≤ 50 mm"),
    band(f64::INFINITY, "T3", "tumour > 50 mm", "肿瘤最大径 > 50 mm"),
];

/// The size the breast cut-offs are applied to: the nearest whole millimetre, and any size over
/// 1 mm and under 2 mm as 2 mm (AJCC 8th, breast, "Definition of Primary Tumor").
fn breast_mm(mm: f64) -> f64 {
    if mm <= 1.0 {
        mm
    } else if mm < 2.0 {
        2.0
    } else {
        mm.round()
    }
}

fn breast_t(size: Option<f64>, descriptors: &BTreeSet<Descriptor>, out: &mut Out) -> Option<&'static str> {
    use BreastDescriptor as D;
    let by_size = size.map(|mm| {
        let rounded = breast_mm(mm);
        let band = by_size(BREAST_SIZE, rounded);
        let why = if rounded == mm {
            band.said()
        } else {
            said!(
                ("{}; {mm} mm is read as {rounded} mm (sizes are rounded to the millimetre)", band.text),
                ("{}；{mm} mm 按 {rounded} mm 计（大小取整到毫米）", band.zh)
            )
        };
        (band.category, why)
    });
    let found = |wanted: &[D]| -> Vec<D> {
        descriptors
            .iter()
            .filter_map(|d| if let Descriptor::Breast(d) = d { Some(*d) } else { None })
            .filter(|d| wanted.contains(d))
            .collect()
    };
    let chest_wall = found(&[D::ChestWall]);
    let skin = found(&[D::SkinUlceration, D::SkinSatelliteNodules, D::SkinEdema]);
    let inflammatory = found(&[D::Inflammatory]);
    let labels = |ds: &[D]| joined(ds, "; ", "；", D::label, D::label_zh);
    let t4 = if !inflammatory.is_empty() {
        Some(("T4d", labels(&inflammatory)))
    } else if !chest_wall.is_empty() && !skin.is_empty() {
        let (wall, skin) = (labels(&chest_wall), labels(&skin));
        Some((
            "T4c",
            said!(("both T4a and T4b: {}; {}", wall.en, skin.en), ("同时符合 T4a 与 T4b：{}；{}", wall.zh, skin.zh)),
        ))
    } else if !chest_wall.is_empty() {
        Some(("T4a", labels(&chest_wall)))
    } else if !skin.is_empty() {
        Some(("T4b", labels(&skin)))
    } else {
        None
    };
    if let Some((category, why)) = &by_size {
        out.rule(Axis::T, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
    }
    match (t4, by_size) {
        // T4a to T4d combine the findings rather than rank them: one of them applies.
        (Some((category, why)), _) => {
            let why = regardless_of_size(&why.en, &why.zh);
            out.rule(Axis::T, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
            Some(category)
        }
        (None, Some((category, _))) => Some(category),
        (None, None) => {
            out.rule(Axis::T, neither_size_nor_descriptor());
            None
        }
    }
}

fn liver_t(
    size: Option<f64>,
    count: Option<u32>,
    descriptors: &BTreeSet<Descriptor>,
    out: &mut Out,
) -> Option<&'static str> {
    use LiverDescriptor as D;
    let liver: Vec<D> =
        descriptors.iter().filter_map(|d| if let Descriptor::Liver(d) = d { Some(*d) } else { None }).collect();
    let t4: Vec<D> = liver.iter().copied().filter(|d| *d != D::VascularInvasion).collect();
    if !t4.is_empty() {
        let t4 = joined(&t4, "; ", "；", D::label, D::label_zh);
        out.rule(
            Axis::T,
            said!(
                ("T4: {}, regardless of the number and size of tumours", t4.en),
                ("T4：{}，不论肿瘤数目和大小", t4.zh)
            ),
        );
        return Some("T4");
    }
    let vascular = liver.contains(&D::VascularInvasion);
    let (category, why, zh) = match (count, size) {
        (None, _) => {
            out.rule(Axis::T, said!("T not derived: the number of tumours was not given", "T 未推导：未提供肿瘤数目"));
            return None;
        }
        (Some(_), None) => {
            out.rule(
                Axis::T,
                said!("T not derived: the size of the largest tumour was not given", "T 未推导：未提供最大肿瘤的大小"),
            );
            return None;
        }
        (Some(1), Some(mm)) if mm <= 20.0 => {
            ("T1a", "solitary tumour <= 20 mm, with or without vascular invasion", "单发肿瘤 ≤ 20 mm，有或无血管侵犯")
        }
        (Some(1), Some(_)) if vascular => {
            ("T2", "solitary tumour > 20 mm with vascular invasion", "单发肿瘤 > 20 mm，伴血管侵犯")
        }
        (Some(1), Some(_)) => {
            ("T1b", "solitary tumour > 20 mm without vascular invasion", "单发肿瘤 > 20 mm，无血管侵犯")
        }
        (Some(_), Some(mm)) if mm <= 50.0 => ("T2", "multiple tumours, none > 50 mm", "多发肿瘤，均 ≤ 50 mm"),
        (Some(_), Some(_)) => ("T3", "multiple tumours, at least one > 50 mm", "多发肿瘤，至少一个 > 50 mm"),
    };
    out.rule(Axis::T, said!("{category}: {why}", "{category}：{zh}"));
    Some(category)
}

/// The T category a laryngeal descriptor gives in a subsite; `None` where the subsite's
/// definitions do not use it.
fn larynx_descriptor_t(subsite: Subsite, d: LarynxDescriptor) -> Option<&'static str> {
    use LarynxDescriptor as D;
    if !LarynxDescriptor::of_subsite(subsite).contains(&d) {
        return None;
    }
    Some(match d {
        D::OneSupraglotticSubsite | D::LimitedToSubglottis => "T1",
        D::OneVocalCord => "T1a",
        D::BothVocalCords => "T1b",
        D::AdjacentSupraglotticSubsites
        | D::GlottisMucosa
        | D::OutsideSupraglottisMucosa
        | D::SupraglottisExtension
        | D::SubglottisExtension
        | D::ImpairedVocalCordMobility
        | D::VocalCordExtension => "T2",
        D::PostcricoidArea
        | D::PreepiglotticSpace
        | D::VocalCordFixation
        | D::ParaglotticSpace
        | D::InnerThyroidCortex => "T3",
        D::OuterThyroidCortex | D::CricoidCartilage | D::ExtralaryngealTissues => "T4a",
        D::PrevertebralSpace | D::CarotidEncasement | D::MediastinalStructures => "T4b",
    })
}

fn larynx_t(
    subsite: Option<Subsite>,
    size: Option<f64>,
    descriptors: &BTreeSet<Descriptor>,
    out: &mut Out,
) -> Option<&'static str> {
    let Some(subsite) = subsite else {
        out.rule(
            Axis::T,
            said!(
                "T not derived: laryngeal T is defined per subsite, and none was given",
                "T 未推导：喉癌的 T 按亚区定义，但未提供亚区"
            ),
        );
        return None;
    };
    let findings: Vec<(&'static str, Said)> = descriptors
        .iter()
        .filter_map(|d| if let Descriptor::Larynx(d) = d { Some(*d) } else { None })
        .filter_map(|d| larynx_descriptor_t(subsite, d).map(|c| (c, Said::new(d.label(), d.label_zh()))))
        .collect();
    if findings.is_empty() {
        let (why, zh) = if size.is_some() {
            ("; tumour size is not part of the laryngeal T definitions", "；肿瘤大小不属于喉癌 T 的定义")
        } else {
            ("", "")
        };
        out.rule(
            Axis::T,
            said!(
                "T not derived: no descriptor of the tumour's extension was given{why}",
                "T 未推导：未提供肿瘤侵犯范围的描述项{zh}"
            ),
        );
        return None;
    }
    most_advanced(&["T1", "T1a", "T1b", "T2", "T3", "T4a", "T4b"], findings, Axis::T, out)
}

/// Stomach, colorectal, esophagus: T1 to T3 are depths of invasion in the wall, which CT does not
/// measure; only the T4 findings decide.
fn depth_t(size: Option<f64>, descriptors: &BTreeSet<Descriptor>, out: &mut Out) -> Option<&'static str> {
    let findings: Vec<(&'static str, Said)> = descriptors
        .iter()
        .filter_map(|d| {
            let category = match *d {
                Descriptor::Stomach(StomachDescriptor::Serosa)
                | Descriptor::Colorectal(ColorectalDescriptor::VisceralPeritoneum)
                | Descriptor::Esophagus(
                    EsophagusDescriptor::Pleura
                    | EsophagusDescriptor::Pericardium
                    | EsophagusDescriptor::AzygosVein
                    | EsophagusDescriptor::Diaphragm
                    | EsophagusDescriptor::Peritoneum,
                ) => "T4a",
                Descriptor::Stomach(StomachDescriptor::AdjacentStructures)
                | Descriptor::Colorectal(ColorectalDescriptor::AdjacentOrgans)
                | Descriptor::Esophagus(
                    EsophagusDescriptor::Aorta | EsophagusDescriptor::VertebralBody | EsophagusDescriptor::Airway,
                ) => "T4b",
                _ => return None,
            };
            Some((category, Said::new(d.label(), d.label_zh())))
        })
        .collect();
    if findings.is_empty() {
        let (why, zh) = if size.is_some() {
            ("; tumour size does not define T here", "；此处肿瘤大小不决定 T")
        } else {
            ("", "")
        };
        out.rule(
            Axis::T,
            said!(
                "T not derived: T1 to T3 are defined by the depth of invasion of the wall, which non-contrast CT \
                 does not measure{why}",
                "T 未推导：T1 至 T3 按肿瘤侵犯管壁的深度定义，平扫 CT 无法测量{zh}"
            ),
        );
        return None;
    }
    most_advanced(&["T4a", "T4b"], findings, Axis::T, out)
}

/// N by the number of involved regional nodes: the category of the last band whose lower bound
/// the count reaches.
/// (lower bound, category, English, Simplified Chinese).
type CountBands = &'static [(u32, &'static str, &'static str, &'static str)];

const NO_NODE: (u32, &str, &str, &str) = (0, "N0", "no involved regional node", "无区域淋巴结受累");
const PANCREAS_N: CountBands = &[
    NO_NODE,
    (1, "N1", "1 to 3 involved regional nodes", "1 至 3 枚区域淋巴结受累"),
    (4, "N2", ">= 4 involved regional nodes", "≥ 4 枚区域淋巴结受累"),
];
const ANY_NODE_N: CountBands = &[NO_NODE, (1, "N1", "involved regional node(s)", "有区域淋巴结受累")];
const UPPER_GI_N: CountBands = &[
    NO_NODE,
    (1, "N1", "1 or 2 involved regional nodes", "1 或 2 枚区域淋巴结受累"),
    (3, "N2", "3 to 6 involved regional nodes", "3 至 6 枚区域淋巴结受累"),
    (7, "N3", ">= 7 involved regional nodes", "≥ 7 枚区域淋巴结受累"),
];
const COLORECTAL_N: CountBands = &[
    NO_NODE,
    (1, "N1a", "1 involved regional node", "1 枚区域淋巴结受累"),
    (2, "N1b", "2 or 3 involved regional nodes", "2 或 3 枚区域淋巴结受累"),
    (4, "N2a", "4 to 6 involved regional nodes", "4 至 6 枚区域淋巴结受累"),
    (7, "N2b", ">= 7 involved regional nodes", "≥ 7 枚区域淋巴结受累"),
];

fn nodes_not_counted() -> Said {
    said!("the number of involved regional nodes was not given", "未提供受累区域淋巴结的数目")
}

fn counted_n(bands: CountBands, nodes: Option<u32>, out: &mut Out) -> Option<&'static str> {
    let Some(nodes) = nodes else {
        let why = nodes_not_counted();
        out.rule(Axis::N, said!(("N not derived: {}", why.en), ("N 未推导：{}", why.zh)));
        return None;
    };
    let (_, category, why, zh) = bands.iter().rev().find(|(min, ..)| nodes >= *min).copied().unwrap_or(bands[0]);
    out.rule(Axis::N, said!("{category}: {why}", "{category}：{zh}"));
    Some(category)
}

fn no_node() -> Said {
    said!("N0: no involved regional node", "N0：无区域淋巴结受累")
}

/// Station-based N: N0 when the count says none; underived when nodes are involved but not placed.
fn no_stations(nodes: Option<u32>, out: &mut Out) -> Option<&'static str> {
    match nodes {
        Some(0) => {
            out.rule(Axis::N, no_node());
            Some("N0")
        }
        Some(_) => {
            out.rule(
                Axis::N,
                said!(
                    "N not derived: N depends on where the involved nodes lie, and no station was given",
                    "N 未推导：N 取决于受累淋巴结的位置，但未提供淋巴结分区"
                ),
            );
            None
        }
        None => {
            out.rule(
                Axis::N,
                said!(
                    "N not derived: neither involved nodes nor their stations were given",
                    "N 未推导：未提供受累淋巴结，也未提供其分区"
                ),
            );
            None
        }
    }
}

fn lung_n(edition: Edition, nodes: Option<u32>, stations: &BTreeSet<Station>, out: &mut Out) -> Option<&'static str> {
    let lung: Vec<LungStation> =
        stations.iter().filter_map(|s| if let Station::Lung(s) = s { Some(*s) } else { None }).collect();
    if lung.is_empty() {
        return no_stations(nodes, out);
    }
    let at = |n: u8| lung.iter().copied().filter(|s| s.n() == n).collect::<Vec<_>>();
    let named = |stations: &[LungStation]| joined(stations, ", ", "、", LungStation::label, LungStation::label_zh);
    let (n3, n2, n1) = (at(3), at(2), at(1));
    let (category, why) = if !n3.is_empty() {
        let n3 = named(&n3);
        (
            "N3",
            said!(
                ("contralateral mediastinal or hilar, or scalene or supraclavicular: {}", n3.en),
                ("对侧纵隔或肺门、斜角肌或锁骨上淋巴结：{}", n3.zh)
            ),
        )
    } else if !n2.is_empty() {
        let (count, stations) = (n2.len(), named(&n2));
        let (en, zh) = (&stations.en, &stations.zh);
        match edition {
            Edition::Ajcc8 => {
                ("N2", said!("ipsilateral mediastinal or subcarinal: {en}", "同侧纵隔或隆突下淋巴结：{zh}"))
            }
            Edition::Ajcc9 if count == 1 => ("N2a", said!("a single N2 station: {en}", "单站 N2 淋巴结：{zh}")),
            Edition::Ajcc9 => ("N2b", said!("{count} N2 stations: {en}", "{count} 站 N2 淋巴结：{zh}")),
        }
    } else {
        let n1 = named(&n1);
        (
            "N1",
            said!(
                ("ipsilateral peribronchial, hilar or intrapulmonary: {}", n1.en),
                ("同侧支气管周围、肺门或肺内淋巴结：{}", n1.zh)
            ),
        )
    };
    out.rule(Axis::N, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
    Some(category)
}

fn breast_n(nodes: Option<u32>, stations: &BTreeSet<Station>, out: &mut Out) -> Option<&'static str> {
    use BreastStation as S;
    let has = |s: S| stations.contains(&Station::Breast(s));
    if stations.is_empty() {
        return no_stations(nodes, out);
    }
    let axillary = has(S::IpsilateralAxillary) || has(S::IpsilateralAxillaryFixed);
    let station = |s: S| (s.label(), s.label_zh());
    let (category, (why, zh)) = if has(S::IpsilateralSupraclavicular) {
        ("N3c", station(S::IpsilateralSupraclavicular))
    } else if has(S::IpsilateralInternalMammary) && axillary {
        (
            "N3b",
            (
                "ipsilateral internal mammary node(s) with level I-II axillary node(s)",
                "同侧内乳淋巴结伴 I、II 级腋窝淋巴结",
            ),
        )
    } else if has(S::IpsilateralInfraclavicular) {
        ("N3a", station(S::IpsilateralInfraclavicular))
    } else if has(S::IpsilateralAxillaryFixed) {
        ("N2a", station(S::IpsilateralAxillaryFixed))
    } else if has(S::IpsilateralInternalMammary) {
        ("N2b", ("ipsilateral internal mammary node(s) without axillary node(s)", "同侧内乳淋巴结，无腋窝淋巴结"))
    } else {
        ("N1", station(S::IpsilateralAxillary))
    };
    out.rule(Axis::N, said!("{category}: {why}", "{category}：{zh}"));
    Some(category)
}

/// Clinical N of HPV-unrelated head and neck cancer: extranodal extension first, then the size of
/// the largest node, then laterality and number.
fn larynx_n(
    m: &Measurements,
    largest: Option<f64>,
    stations: &BTreeSet<Station>,
    out: &mut Out,
) -> Option<&'static str> {
    let contralateral = stations.contains(&Station::Larynx(NeckSide::Contralateral));
    let ipsilateral = stations.contains(&Station::Larynx(NeckSide::Ipsilateral));
    let mut not_derived = |why: Said| {
        out.rule(Axis::N, said!(("N not derived: {}", why.en), ("N 未推导：{}", why.zh)));
        None
    };
    if m.involved_nodes == Some(0) {
        out.rule(Axis::N, no_node());
        return Some("N0");
    }
    if m.extranodal_extension == Some(true) {
        out.rule(
            Axis::N,
            said!(
                "N3b: metastasis in any node(s) with clinically overt extranodal extension",
                "N3b：任何淋巴结转移伴临床明显的包膜外侵犯"
            ),
        );
        return Some("N3b");
    }
    if m.involved_nodes.is_none() && stations.is_empty() {
        return not_derived(nodes_not_counted());
    }
    let Some(mm) = largest else {
        return not_derived(said!("the size of the largest involved node was not given", "未提供最大受累淋巴结的大小"));
    };
    let (ene, ene_zh) = match m.extranodal_extension {
        Some(_) => ("ENE(-)", "ENE(-)"),
        None => (
            "ENE(-) assumed: clinically overt extranodal extension was not reported",
            "按 ENE(-) 计：未报告临床明显的包膜外侵犯",
        ),
    };
    let (category, why, zh) = if mm > 60.0 {
        ("N3a", "a node > 60 mm", "淋巴结 > 60 mm")
    } else if contralateral {
        ("N2c", "bilateral or contralateral nodes, none > 60 mm", "双侧或对侧淋巴结，均 ≤ 60 mm")
    } else if !ipsilateral {
        return not_derived(said!("the side of the involved nodes was not given", "未提供受累淋巴结的侧别"));
    } else {
        match m.involved_nodes {
            None => {
                return not_derived(said!(
                    "the number of involved ipsilateral nodes was not given",
                    "未提供同侧受累淋巴结的数目"
                ));
            }
            Some(1) if mm > 30.0 => {
                ("N2a", "a single ipsilateral node > 30 mm and <= 60 mm", "同侧单个淋巴结 > 30 mm 且 ≤ 60 mm")
            }
            Some(1) => ("N1", "a single ipsilateral node <= 30 mm", "同侧单个淋巴结 ≤ 30 mm"),
            Some(_) => ("N2b", "multiple ipsilateral nodes, none > 60 mm", "同侧多个淋巴结，均 ≤ 60 mm"),
        }
    };
    out.rule(Axis::N, said!("{category}: {why}, {ene}", "{category}：{zh}，{ene_zh}"));
    Some(category)
}

fn lung_m(
    edition: Edition,
    sites: Option<&BTreeSet<DistantSite>>,
    lesions: Option<u32>,
    out: &mut Out,
) -> Option<&'static str> {
    let Some(sites) = sites else {
        out.rule(Axis::M, said!("M not derived: distant metastasis was not assessed", "M 未推导：未评估远处转移"));
        return None;
    };
    let (intra, extra): (Vec<DistantSite>, Vec<DistantSite>) = sites.iter().partition(|s| s.intrathoracic());
    let labels = |s: &[DistantSite]| joined(s, ", ", "、", DistantSite::label, DistantSite::label_zh);
    let extra_organs = extra.len();
    let (intra, extra) = (labels(&intra), labels(&extra));
    let (category, why) = match (extra_organs, lesions) {
        (0, _) if intra.en.is_empty() => ("M0", said!("no distant metastasis", "无远处转移")),
        (0, _) => ("M1a", said!(("intrathoracic metastasis: {}", intra.en), ("胸内转移：{}", intra.zh))),
        (1, Some(1)) => {
            ("M1b", said!(("a single extrathoracic metastasis: {}", extra.en), ("单个胸外转移灶：{}", extra.zh)))
        }
        (1, Some(_)) if edition == Edition::Ajcc9 => (
            "M1c1",
            said!(
                ("multiple extrathoracic metastases in one organ system: {}", extra.en),
                ("单一器官系统内多发胸外转移：{}", extra.zh)
            ),
        ),
        (1, Some(_)) => {
            ("M1c", said!(("multiple extrathoracic metastases: {}", extra.en), ("多发胸外转移：{}", extra.zh)))
        }
        (1, None) => {
            out.rule(
                Axis::M,
                said!(
                    "M not derived: one extrathoracic organ is involved, but not how many lesions (M1b: one; M1c: several)",
                    "M 未推导：累及一个胸外器官，但未提供病灶数目（M1b：单个；M1c：多个）"
                ),
            );
            return None;
        }
        (_, _) if edition == Edition::Ajcc9 => (
            "M1c2",
            said!(
                ("extrathoracic metastases in several organ systems: {}", extra.en),
                ("多个器官系统的胸外转移：{}", extra.zh)
            ),
        ),
        (_, _) => ("M1c", said!(("multiple extrathoracic metastases: {}", extra.en), ("多发胸外转移：{}", extra.zh))),
    };
    out.rule(Axis::M, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
    Some(category)
}

fn colorectal_m(sites: Option<&BTreeSet<DistantSite>>, out: &mut Out) -> Option<&'static str> {
    let Some(sites) = sites else {
        out.rule(Axis::M, said!("M not derived: distant metastasis was not assessed", "M 未推导：未评估远处转移"));
        return None;
    };
    let all = sites.iter().copied().collect::<Vec<_>>();
    let labels = joined(&all, ", ", "、", DistantSite::label, DistantSite::label_zh);
    let (en, zh) = (&labels.en, &labels.zh);
    let (category, why) = if sites.is_empty() {
        ("M0", said!("no distant metastasis", "无远处转移"))
    } else if sites.contains(&DistantSite::Peritoneum) {
        ("M1c", said!("peritoneal metastasis, alone or with other sites: {en}", "腹膜转移，伴或不伴其他部位转移：{zh}"))
    } else if sites.len() == 1 {
        (
            "M1a",
            said!(
                "metastasis to one site or organ without peritoneal metastasis: {en}",
                "转移至一个部位或器官，无腹膜转移：{zh}"
            ),
        )
    } else {
        (
            "M1b",
            said!(
                "metastasis to two or more sites or organs without peritoneal metastasis: {en}",
                "转移至两个或以上部位或器官，无腹膜转移：{zh}"
            ),
        )
    };
    out.rule(Axis::M, said!(("{category}: {}", why.en), ("{category}：{}", why.zh)));
    Some(category)
}

fn any_m(sites: Option<&BTreeSet<DistantSite>>, out: &mut Out) -> Option<&'static str> {
    let Some(sites) = sites else {
        out.rule(Axis::M, said!("M not derived: distant metastasis was not assessed", "M 未推导：未评估远处转移"));
        return None;
    };
    if sites.is_empty() {
        out.rule(Axis::M, said!("M0: no distant metastasis", "M0：无远处转移"));
        return Some("M0");
    }
    let all = sites.iter().copied().collect::<Vec<_>>();
    let labels = joined(&all, ", ", "、", DistantSite::label, DistantSite::label_zh);
    out.rule(Axis::M, said!(("M1: distant metastasis: {}", labels.en), ("M1：远处转移：{}", labels.zh)));
    Some("M1")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::super::{Histology, table};
    use super::*;

    use Cancer as C;
    use Edition::{Ajcc8, Ajcc9};

    fn sized(mm: f64) -> Measurements {
        Measurements { tumor_size_mm: Some(mm), ..Measurements::default() }
    }

    fn with(size: Option<f64>, descriptors: &[Descriptor]) -> Measurements {
        Measurements { tumor_size_mm: size, descriptors: descriptors.to_vec(), ..Measurements::default() }
    }

    fn run(cancer: Cancer, edition: Edition, subsite: Option<Subsite>, m: &Measurements) -> Derived {
        derive(cancer, edition, subsite, m).unwrap_or_else(|e| panic!("{cancer} {m:?}: {e}"))
    }

    fn t_of(cancer: Cancer, edition: Edition, subsite: Option<Subsite>, m: &Measurements) -> Option<&'static str> {
        run(cancer, edition, subsite, m).t
    }

    fn rules(derived: &Derived, axis: Axis) -> Vec<&str> {
        derived.rules.iter().filter(|r| r.category == axis).map(|r| r.rule.en.as_str()).collect()
    }

    // ---- T from size: exactly at each cut-off, and just over it -------------------------------

    #[test]
    fn t_at_and_just_over_each_size_cut_off() {
        let lung: &[(f64, &str)] = &[
            (0.1, "T1a"),
            (10.0, "T1a"),
            (10.1, "T1b"),
            (20.0, "T1b"),
            (20.1, "T1c"),
            (30.0, "T1c"),
            (30.1, "T2a"),
            (40.0, "T2a"),
            (40.1, "T2b"),
            (50.0, "T2b"),
            (50.1, "T3"),
            (70.0, "T3"),
            (70.1, "T4"),
            (500.0, "T4"),
        ];
        let pancreas: &[(f64, &str)] = &[
            (5.0, "T1a"),
            (5.1, "T1b"),
            (9.9, "T1b"),
            (10.0, "T1c"),
            (20.0, "T1c"),
            (20.1, "T2"),
            (40.0, "T2"),
            (40.1, "T3"),
        ];
        let kidney: &[(f64, &str)] =
            &[(40.0, "T1a"), (40.1, "T1b"), (70.0, "T1b"), (70.1, "T2a"), (100.0, "T2a"), (100.1, "T2b")];
        // Breast sizes are rounded to the millimetre first (20.4 is read as 20; 1.2 as 2).
        let breast: &[(f64, &str)] = &[
            (0.5, "T1mi"),
            (1.0, "T1mi"),
            (1.1, "T1a"),
            (1.9, "T1a"),
            (5.0, "T1a"),
            (5.4, "T1a"),
            (5.6, "T1b"),
            (10.0, "T1b"),
            (10.4, "T1b"),
            (11.0, "T1c"),
            (20.0, "T1c"),
            (20.4, "T1c"),
            (20.6, "T2"),
            (21.0, "T2"),
            (50.0, "T2"),
            (50.4, "T2"),
            (51.0, "T3"),
        ];
        let cases = [(C::Lung, lung), (C::Pancreas, pancreas), (C::Kidney, kidney), (C::Breast, breast)];
        for (cancer, rows) in cases {
            for edition in cancer.editions() {
                for (mm, expected) in rows {
                    assert_eq!(t_of(cancer, *edition, None, &sized(*mm)), Some(*expected), "{cancer} {mm} mm");
                }
            }
        }
    }

    #[test]
    fn the_rule_names_the_band_and_the_source() {
        let derived = run(C::Lung, Ajcc8, None, &sized(35.0));
        assert_eq!(rules(&derived, Axis::T), ["T2a: tumour > 30 mm and <= 40 mm (AJCC 8th, lung)"]);
        let derived = run(C::Lung, Ajcc9, None, &sized(35.0));
        assert_eq!(rules(&derived, Axis::T), ["T2a: tumour > 30 mm and <= 40 mm (AJCC 9th, lung)"]);
        let derived = run(C::Breast, Ajcc8, None, &sized(20.4));
        assert_eq!(
            rules(&derived, Axis::T),
            ["T1c: tumour > 10 mm and <= 20 mm; 20.4 mm is read as 20 mm (sizes are rounded to the millimetre) \
              (AJCC 8th, breast)"]
        );
    }

    fn rules_zh(derived: &Derived, axis: Axis) -> Vec<&str> {
        derived.rules.iter().filter(|r| r.category == axis).map(|r| r.rule.zh.as_str()).collect()
    }

    #[test]
    fn rules_read_word_for_word_in_both_languages() {
        // Lung at the 30 mm cut-off and just over it.
        let derived = run(C::Lung, Ajcc8, None, &sized(30.0));
        assert_eq!(rules(&derived, Axis::T), ["T1c: tumour > 20 mm and <= 30 mm (AJCC 8th, lung)"]);
        assert_eq!(rules_zh(&derived, Axis::T), ["T1c：肿瘤最大径 > 20 mm 且 ≤ 30 mm（AJCC 第 8 版，肺癌）"]);
        let derived = run(C::Lung, Ajcc9, None, &sized(30.1));
        assert_eq!(rules(&derived, Axis::T), ["T2a: tumour > 30 mm and <= 40 mm (AJCC 9th, lung)"]);
        assert_eq!(rules_zh(&derived, Axis::T), ["T2a：肿瘤最大径 > 30 mm 且 ≤ 40 mm（AJCC 第 9 版，肺癌）"]);
        assert_eq!(rules_zh(&derived, Axis::N), ["N 未推导：未提供受累淋巴结，也未提供其分区（AJCC 第 9 版，肺癌）"]);
        assert_eq!(rules_zh(&derived, Axis::M), ["M 未推导：未评估远处转移（AJCC 第 9 版，肺癌）"]);

        // A descriptor beside a size: each finding, then the one that decided.
        let derived = run(C::Lung, Ajcc8, None, &with(Some(25.0), &[LungDescriptor::ChestWall.into()]));
        assert_eq!(
            rules_zh(&derived, Axis::T),
            [
                "T1c：肿瘤最大径 > 20 mm 且 ≤ 30 mm（AJCC 第 8 版，肺癌）",
                "T3：侵犯胸壁，不论大小（AJCC 第 8 版，肺癌）",
                "T3：以上各项中最晚的分类（AJCC 第 8 版，肺癌）",
            ]
        );

        // Stations and distant sites listed with the Chinese enumeration comma.
        let m = Measurements {
            tumor_size_mm: Some(12.0),
            involved_nodes: Some(2),
            node_stations: vec![LungStation::Subcarinal.into(), LungStation::Prevascular.into()],
            distant: Some(vec![DistantSite::Bone, DistantSite::Liver]),
            extrathoracic_lesions: Some(3),
            ..Measurements::default()
        };
        let derived = run(C::Lung, Ajcc9, None, &m);
        assert_eq!(rules(&derived, Axis::N), ["N2b: 2 N2 stations: prevascular (3a), subcarinal (7) (AJCC 9th, lung)"]);
        assert_eq!(
            rules_zh(&derived, Axis::N),
            ["N2b：2 站 N2 淋巴结：血管前（3a 组）、隆突下（7 组）（AJCC 第 9 版，肺癌）"]
        );
        assert_eq!(
            rules(&derived, Axis::M),
            ["M1c2: extrathoracic metastases in several organ systems: liver, bone (AJCC 9th, lung)"]
        );
        assert_eq!(rules_zh(&derived, Axis::M), ["M1c2：多个器官系统的胸外转移：肝、骨（AJCC 第 9 版，肺癌）"]);

        // The subsite in the source.
        let derived =
            run(C::Larynx, Ajcc8, Some(Subsite::Glottic), &with(None, &[LarynxDescriptor::VocalCordFixation.into()]));
        assert_eq!(rules(&derived, Axis::T), ["T3: vocal cord fixation (AJCC 8th, larynx, glottic)"]);
        assert_eq!(rules_zh(&derived, Axis::T), ["T3：声带固定（AJCC 第 8 版，喉癌，声门区）"]);

        // Breast rounding, and a count band.
        let derived = run(C::Breast, Ajcc8, None, &sized(20.4));
        assert_eq!(
            rules_zh(&derived, Axis::T),
            ["T1c：肿瘤最大径 > 10 mm 且 ≤ 20 mm；20.4 mm 按 20 mm 计（大小取整到毫米）（AJCC 第 8 版，乳腺癌）"]
        );
        let m = Measurements { involved_nodes: Some(5), distant: Some(vec![]), ..Measurements::default() };
        let derived = run(C::Colorectal, Ajcc8, None, &m);
        assert_eq!(rules_zh(&derived, Axis::N), ["N2a：4 至 6 枚区域淋巴结受累（AJCC 第 8 版，结直肠癌）"]);
        assert_eq!(rules_zh(&derived, Axis::M), ["M0：无远处转移（AJCC 第 8 版，结直肠癌）"]);
    }

    /// Every term has a Chinese name, written with full-width punctuation, and every Chinese rule
    /// uses the Chinese separators.
    #[test]
    fn chinese_rules_use_chinese_punctuation() {
        let ascii = |text: &str| text.contains(", ") || text.contains("; ") || text.contains(": ");
        for cancer in Cancer::ALL {
            let subsites: Vec<Option<Subsite>> =
                if cancer.has_subsites() { Subsite::ALL.map(Some).to_vec() } else { vec![None] };
            for subsite in subsites {
                let terms = Descriptor::valid(cancer, subsite)
                    .into_iter()
                    .map(|d| d.label_zh())
                    .chain(Station::valid(cancer).into_iter().map(|s| s.label_zh()))
                    .chain(DistantSite::valid(cancer).into_iter().map(|s| s.label_zh()));
                for zh in terms {
                    assert!(!zh.is_empty() && !ascii(zh) && !zh.contains('('), "{cancer}: {zh}");
                }
                let m = Measurements {
                    tumor_size_mm: Some(33.0),
                    tumor_count: (cancer == C::Liver).then_some(2),
                    descriptors: Descriptor::valid(cancer, subsite).into_iter().take(2).collect(),
                    involved_nodes: Some(3),
                    node_stations: Station::valid(cancer).into_iter().take(2).collect(),
                    largest_node_mm: (cancer == C::Larynx).then_some(20.0),
                    distant: Some(DistantSite::valid(cancer).into_iter().take(2).collect()),
                    extrathoracic_lesions: (cancer == C::Lung).then_some(0),
                    ..Measurements::default()
                };
                let derived = derive(cancer, *cancer.editions().last().unwrap_or(&Ajcc8), subsite, &m)
                    .unwrap_or_else(|e| panic!("{cancer} {e}"));
                for rule in &derived.rules {
                    assert!(!ascii(&rule.rule.zh) && rule.rule.zh.ends_with('）'), "{}", rule.rule.zh);
                    assert!(rule.rule.en.ends_with(')') && !rule.rule.en.contains('：'), "{}", rule.rule.en);
                }
            }
        }
    }

    // ---- Descriptors ---------------------------------------------------------------------------

    #[test]
    fn descriptors_upgrade_t_regardless_of_size() {
        use KidneyDescriptor as K;
        use LungDescriptor as L;
        let d = |x: LungDescriptor| Descriptor::from(x);
        let cases: &[(Cancer, Option<f64>, &[Descriptor], &str)] = &[
            (C::Lung, Some(15.0), &[d(L::Diaphragm)], "T4"),
            (C::Lung, None, &[d(L::Diaphragm)], "T4"),
            (C::Lung, Some(15.0), &[d(L::ChestWall)], "T3"),
            (C::Lung, Some(15.0), &[d(L::SeparateNoduleSameLobe)], "T3"),
            (C::Lung, Some(15.0), &[d(L::SeparateNoduleIpsilateralLobe)], "T4"),
            (C::Lung, Some(80.0), &[d(L::ChestWall)], "T4"),
            (C::Lung, Some(25.0), &[d(L::VisceralPleura)], "T2a"),
            (C::Lung, Some(40.0), &[d(L::MainBronchus)], "T2a"),
            (C::Lung, Some(40.1), &[d(L::AtelectasisToHilum)], "T2b"),
            (C::Lung, Some(45.0), &[d(L::VisceralPleura)], "T2b"),
            (C::Lung, Some(60.0), &[d(L::VisceralPleura)], "T3"),
            (C::Lung, None, &[d(L::VisceralPleura)], "T2a"),
            (C::Lung, Some(15.0), &[d(L::VisceralPleura), d(L::Carina), d(L::PhrenicNerve)], "T4"),
            (C::Pancreas, Some(8.0), &[Descriptor::Pancreas(PancreasDescriptor::SuperiorMesentericArtery)], "T4"),
            (C::Pancreas, None, &[Descriptor::Pancreas(PancreasDescriptor::CeliacAxis)], "T4"),
            (C::Kidney, Some(30.0), &[Descriptor::Kidney(K::RenalVein)], "T3a"),
            (C::Kidney, Some(30.0), &[Descriptor::Kidney(K::RenalSinusFat)], "T3a"),
            (C::Kidney, Some(120.0), &[Descriptor::Kidney(K::IvcBelowDiaphragm)], "T3b"),
            (C::Kidney, Some(120.0), &[Descriptor::Kidney(K::IvcAboveDiaphragm)], "T3c"),
            (C::Kidney, None, &[Descriptor::Kidney(K::IvcWall), Descriptor::Kidney(K::RenalVein)], "T3c"),
            (C::Kidney, Some(30.0), &[Descriptor::Kidney(K::IpsilateralAdrenalContiguous)], "T4"),
            (C::Kidney, Some(30.0), &[Descriptor::Kidney(K::BeyondGerotaFascia)], "T4"),
            (C::Breast, Some(15.0), &[Descriptor::Breast(BreastDescriptor::ChestWall)], "T4a"),
            (C::Breast, Some(15.0), &[Descriptor::Breast(BreastDescriptor::SkinUlceration)], "T4b"),
            (C::Breast, None, &[Descriptor::Breast(BreastDescriptor::SkinEdema)], "T4b"),
            (
                C::Breast,
                Some(60.0),
                &[
                    Descriptor::Breast(BreastDescriptor::ChestWall),
                    Descriptor::Breast(BreastDescriptor::SkinSatelliteNodules),
                ],
                "T4c",
            ),
            (
                C::Breast,
                Some(60.0),
                &[Descriptor::Breast(BreastDescriptor::Inflammatory), Descriptor::Breast(BreastDescriptor::ChestWall)],
                "T4d",
            ),
            (C::Stomach, Some(40.0), &[Descriptor::Stomach(StomachDescriptor::Serosa)], "T4a"),
            (
                C::Stomach,
                None,
                &[
                    Descriptor::Stomach(StomachDescriptor::Serosa),
                    Descriptor::Stomach(StomachDescriptor::AdjacentStructures),
                ],
                "T4b",
            ),
            (C::Colorectal, None, &[Descriptor::Colorectal(ColorectalDescriptor::VisceralPeritoneum)], "T4a"),
            (C::Colorectal, None, &[Descriptor::Colorectal(ColorectalDescriptor::AdjacentOrgans)], "T4b"),
            (C::Esophagus, None, &[Descriptor::Esophagus(EsophagusDescriptor::AzygosVein)], "T4a"),
            (C::Esophagus, None, &[Descriptor::Esophagus(EsophagusDescriptor::Aorta)], "T4b"),
        ];
        for (cancer, size, descriptors, expected) in cases {
            let m = with(*size, descriptors);
            assert_eq!(t_of(*cancer, Ajcc8, None, &m), Some(*expected), "{cancer} {size:?} {descriptors:?}");
        }
    }

    #[test]
    fn a_15_mm_lung_tumour_invading_the_diaphragm_is_t4_and_says_why() {
        let m = with(Some(15.0), &[LungDescriptor::Diaphragm.into()]);
        let derived = run(C::Lung, Ajcc9, None, &m);
        assert_eq!(derived.t, Some("T4"));
        assert_eq!(
            rules(&derived, Axis::T),
            [
                "T1b: tumour > 10 mm and <= 20 mm (AJCC 9th, lung)",
                "T4: invades the diaphragm, regardless of size (AJCC 9th, lung)",
                "T4: the most advanced of the findings above (AJCC 9th, lung)",
            ]
        );
    }

    #[test]
    fn gut_t_is_not_derived_from_size() {
        for cancer in [C::Stomach, C::Colorectal, C::Esophagus] {
            let derived = run(cancer, Ajcc8, None, &sized(45.0));
            assert_eq!(derived.t, None);
            let rule = rules(&derived, Axis::T).join("");
            assert!(rule.starts_with("T not derived: T1 to T3 are defined by the depth of invasion"), "{rule}");
            assert!(rule.contains("tumour size does not define T here"), "{rule}");
        }
    }

    #[test]
    fn liver_t_by_number_size_and_vessels() {
        use LiverDescriptor as D;
        let vi = [Descriptor::Liver(D::VascularInvasion)];
        type Case<'a> = (Option<u32>, Option<f64>, &'a [Descriptor], Option<&'a str>);
        let cases: &[Case] = &[
            (Some(1), Some(20.0), &[], Some("T1a")),
            (Some(1), Some(20.0), &vi, Some("T1a")),
            (Some(1), Some(20.1), &[], Some("T1b")),
            (Some(1), Some(80.0), &[], Some("T1b")),
            (Some(1), Some(20.1), &vi, Some("T2")),
            (Some(2), Some(10.0), &[], Some("T2")),
            (Some(3), Some(50.0), &[], Some("T2")),
            (Some(3), Some(50.1), &[], Some("T3")),
            (Some(1), Some(10.0), &[Descriptor::Liver(D::MajorPortalVeinBranch)], Some("T4")),
            (None, None, &[Descriptor::Liver(D::MajorHepaticVeinBranch)], Some("T4")),
            (Some(2), Some(10.0), &[Descriptor::Liver(D::AdjacentOrgan)], Some("T4")),
            (Some(1), Some(10.0), &[Descriptor::Liver(D::VisceralPeritoneumPerforation)], Some("T4")),
            (None, Some(30.0), &[], None),
            (Some(2), None, &[], None),
        ];
        for (count, size, descriptors, expected) in cases {
            let m = Measurements { tumor_count: *count, ..with(*size, descriptors) };
            assert_eq!(t_of(C::Liver, Ajcc8, None, &m), *expected, "{count:?} {size:?} {descriptors:?}");
        }
    }

    #[test]
    fn larynx_t_per_subsite() {
        use LarynxDescriptor as D;
        use Subsite::{Glottic, Subglottic, Supraglottic};
        let cases: &[(Subsite, &[D], &str)] = &[
            (Glottic, &[D::OneVocalCord], "T1a"),
            (Glottic, &[D::OneVocalCord, D::BothVocalCords], "T1b"),
            (Glottic, &[D::BothVocalCords, D::ImpairedVocalCordMobility], "T2"),
            (Glottic, &[D::SupraglottisExtension], "T2"),
            (Glottic, &[D::SubglottisExtension], "T2"),
            (Glottic, &[D::VocalCordFixation], "T3"),
            (Glottic, &[D::ParaglotticSpace], "T3"),
            (Glottic, &[D::InnerThyroidCortex], "T3"),
            (Glottic, &[D::OuterThyroidCortex], "T4a"),
            (Glottic, &[D::CricoidCartilage], "T4a"),
            (Glottic, &[D::ExtralaryngealTissues, D::OneVocalCord], "T4a"),
            (Glottic, &[D::PrevertebralSpace], "T4b"),
            (Glottic, &[D::CarotidEncasement], "T4b"),
            (Glottic, &[D::MediastinalStructures, D::VocalCordFixation], "T4b"),
            (Supraglottic, &[D::OneSupraglotticSubsite], "T1"),
            (Supraglottic, &[D::AdjacentSupraglotticSubsites], "T2"),
            (Supraglottic, &[D::GlottisMucosa], "T2"),
            (Supraglottic, &[D::OutsideSupraglottisMucosa], "T2"),
            (Supraglottic, &[D::PostcricoidArea], "T3"),
            (Supraglottic, &[D::PreepiglotticSpace], "T3"),
            (Supraglottic, &[D::VocalCordFixation], "T3"),
            (Supraglottic, &[D::OuterThyroidCortex], "T4a"),
            (Supraglottic, &[D::ExtralaryngealTissues], "T4a"),
            (Supraglottic, &[D::CarotidEncasement], "T4b"),
            (Subglottic, &[D::LimitedToSubglottis], "T1"),
            (Subglottic, &[D::VocalCordExtension], "T2"),
            (Subglottic, &[D::VocalCordFixation], "T3"),
            (Subglottic, &[D::InnerThyroidCortex], "T3"),
            (Subglottic, &[D::CricoidCartilage], "T4a"),
            (Subglottic, &[D::OuterThyroidCortex], "T4a"),
            (Subglottic, &[D::PrevertebralSpace], "T4b"),
        ];
        for (subsite, descriptors, expected) in cases {
            let descriptors: Vec<Descriptor> = descriptors.iter().map(|d| Descriptor::Larynx(*d)).collect();
            let m = with(None, &descriptors);
            assert_eq!(t_of(C::Larynx, Ajcc8, Some(*subsite), &m), Some(*expected), "{subsite:?} {descriptors:?}");
        }
        let derived = run(C::Larynx, Ajcc8, Some(Glottic), &with(None, &[D::VocalCordFixation.into()]));
        assert_eq!(rules(&derived, Axis::T), ["T3: vocal cord fixation (AJCC 8th, larynx, glottic)"]);

        // A glottic-only descriptor is refused for the supraglottis, with the supraglottic list.
        let err = derive(C::Larynx, Ajcc8, Some(Supraglottic), &with(None, &[D::OneVocalCord.into()]))
            .expect_err("glottic descriptor");
        assert_eq!(err.field(), "descriptors");
        assert!(err.to_string().starts_with("descriptors: not a descriptor of larynx (supraglottic); valid: "));
        assert!(err.to_string().contains("one_supraglottic_subsite"));
        assert!(!err.to_string().contains("one_vocal_cord"));

        // Without a subsite: no T, and descriptors are refused.
        let derived = run(C::Larynx, Ajcc8, None, &sized(20.0));
        assert_eq!(derived.t, None);
        assert!(rules(&derived, Axis::T)[0].contains("defined per subsite"));
        let err = derive(C::Larynx, Ajcc8, None, &with(None, &[D::VocalCordFixation.into()])).expect_err("subsite");
        assert_eq!(err, DeriveError::SubsiteRequired);
        assert_eq!(err.field(), "subsite");
    }

    // ---- N -------------------------------------------------------------------------------------

    #[test]
    fn n_by_count_at_each_boundary() {
        let cases: &[(Cancer, &[(u32, &str)])] = &[
            (C::Pancreas, &[(0, "N0"), (1, "N1"), (3, "N1"), (4, "N2"), (30, "N2")]),
            (C::Kidney, &[(0, "N0"), (1, "N1"), (9, "N1")]),
            (C::Liver, &[(0, "N0"), (1, "N1"), (5, "N1")]),
            (C::Stomach, &[(0, "N0"), (1, "N1"), (2, "N1"), (3, "N2"), (6, "N2"), (7, "N3"), (16, "N3")]),
            (C::Esophagus, &[(0, "N0"), (1, "N1"), (2, "N1"), (3, "N2"), (6, "N2"), (7, "N3")]),
            (
                C::Colorectal,
                &[(0, "N0"), (1, "N1a"), (2, "N1b"), (3, "N1b"), (4, "N2a"), (6, "N2a"), (7, "N2b"), (40, "N2b")],
            ),
        ];
        for (cancer, rows) in cases {
            for (nodes, expected) in *rows {
                let m = Measurements { involved_nodes: Some(*nodes), ..Measurements::default() };
                assert_eq!(run(*cancer, Ajcc8, None, &m).n, Some(*expected), "{cancer} {nodes}");
            }
            let derived = run(*cancer, Ajcc8, None, &Measurements::default());
            assert_eq!(derived.n, None);
            assert_eq!(
                rules(&derived, Axis::N)[0].split(" (").next(),
                Some("N not derived: the number of involved regional nodes was not given")
            );
        }
        let m = Measurements { involved_nodes: Some(2), ..Measurements::default() };
        assert_eq!(
            rules(&run(C::Colorectal, Ajcc8, None, &m), Axis::N),
            ["N1b: 2 or 3 involved regional nodes (AJCC 8th, colorectal)"]
        );
    }

    fn lung_stations(stations: &[LungStation]) -> Measurements {
        Measurements { node_stations: stations.iter().map(|s| Station::Lung(*s)).collect(), ..Measurements::default() }
    }

    #[test]
    fn lung_n_by_station_in_each_edition() {
        use LungStation as S;
        let cases: &[(&[S], &str, &str)] = &[
            (&[S::IpsilateralHilar], "N1", "N1"),
            (&[S::IpsilateralPeribronchial, S::IpsilateralIntrapulmonary], "N1", "N1"),
            (&[S::Subcarinal], "N2", "N2a"),
            (&[S::IpsilateralHilar, S::IpsilateralLowerParatracheal], "N2", "N2a"),
            (&[S::Subcarinal, S::IpsilateralLowerParatracheal], "N2", "N2b"),
            (&[S::Subaortic, S::ParaAortic, S::Prevascular], "N2", "N2b"),
            (&[S::ContralateralMediastinal], "N3", "N3"),
            (&[S::ContralateralHilar], "N3", "N3"),
            (&[S::Scalene], "N3", "N3"),
            (&[S::Supraclavicular, S::Subcarinal, S::IpsilateralHilar], "N3", "N3"),
        ];
        for (stations, eighth, ninth) in cases {
            let m = lung_stations(stations);
            assert_eq!(run(C::Lung, Ajcc8, None, &m).n, Some(*eighth), "8th {stations:?}");
            assert_eq!(run(C::Lung, Ajcc9, None, &m).n, Some(*ninth), "9th {stations:?}");
        }
        let none = Measurements { involved_nodes: Some(0), ..Measurements::default() };
        assert_eq!(run(C::Lung, Ajcc9, None, &none).n, Some("N0"));
        let unplaced = Measurements { involved_nodes: Some(2), ..Measurements::default() };
        assert_eq!(run(C::Lung, Ajcc9, None, &unplaced).n, None);
        let derived = run(C::Lung, Ajcc9, None, &lung_stations(&[S::Subcarinal, S::IpsilateralLowerParatracheal]));
        assert_eq!(
            rules(&derived, Axis::N),
            ["N2b: 2 N2 stations: ipsilateral lower paratracheal (4), subcarinal (7) (AJCC 9th, lung)"]
        );
    }

    #[test]
    fn breast_n_by_station() {
        use BreastStation as S;
        let cases: &[(&[S], &str)] = &[
            (&[S::IpsilateralAxillary], "N1"),
            (&[S::IpsilateralAxillaryFixed], "N2a"),
            (&[S::IpsilateralAxillary, S::IpsilateralAxillaryFixed], "N2a"),
            (&[S::IpsilateralInternalMammary], "N2b"),
            (&[S::IpsilateralInfraclavicular], "N3a"),
            (&[S::IpsilateralInfraclavicular, S::IpsilateralAxillary], "N3a"),
            (&[S::IpsilateralInternalMammary, S::IpsilateralAxillary], "N3b"),
            (&[S::IpsilateralInternalMammary, S::IpsilateralAxillaryFixed], "N3b"),
            (&[S::IpsilateralSupraclavicular], "N3c"),
            (&[S::IpsilateralSupraclavicular, S::IpsilateralInternalMammary, S::IpsilateralAxillary], "N3c"),
        ];
        for (stations, expected) in cases {
            let m = Measurements {
                node_stations: stations.iter().map(|s| Station::Breast(*s)).collect(),
                ..Measurements::default()
            };
            assert_eq!(run(C::Breast, Ajcc8, None, &m).n, Some(*expected), "{stations:?}");
        }
    }

    #[test]
    fn larynx_n_by_number_side_size_and_extranodal_extension() {
        use NeckSide::{Contralateral as Contra, Ipsilateral as Ipsi};
        type Case<'a> = (Option<u32>, &'a [NeckSide], Option<f64>, Option<bool>, Option<&'a str>);
        let cases: &[Case] = &[
            (Some(0), &[], None, None, Some("N0")),
            (Some(1), &[Ipsi], Some(30.0), Some(false), Some("N1")),
            (Some(1), &[Ipsi], Some(30.1), Some(false), Some("N2a")),
            (Some(1), &[Ipsi], Some(60.0), None, Some("N2a")),
            (Some(1), &[Ipsi], Some(60.1), Some(false), Some("N3a")),
            (Some(2), &[Ipsi], Some(20.0), Some(false), Some("N2b")),
            (Some(4), &[Ipsi], Some(60.0), Some(false), Some("N2b")),
            (Some(4), &[Ipsi], Some(61.0), Some(false), Some("N3a")),
            (Some(1), &[Contra], Some(20.0), Some(false), Some("N2c")),
            (Some(2), &[Ipsi, Contra], Some(45.0), Some(false), Some("N2c")),
            (Some(2), &[Ipsi, Contra], Some(65.0), Some(false), Some("N3a")),
            (Some(1), &[Ipsi], Some(15.0), Some(true), Some("N3b")),
            (None, &[], None, Some(true), Some("N3b")),
            (Some(1), &[Ipsi], None, Some(false), None),
            (Some(1), &[], Some(20.0), Some(false), None),
            (None, &[Ipsi], Some(20.0), Some(false), None),
            (None, &[], None, None, None),
        ];
        for (nodes, sides, largest, ene, expected) in cases {
            let m = Measurements {
                involved_nodes: *nodes,
                node_stations: sides.iter().map(|s| Station::Larynx(*s)).collect(),
                largest_node_mm: *largest,
                extranodal_extension: *ene,
                ..Measurements::default()
            };
            let derived = run(C::Larynx, Ajcc8, Some(Subsite::Glottic), &m);
            assert_eq!(derived.n, *expected, "{nodes:?} {sides:?} {largest:?} {ene:?}");
            assert_eq!(rules(&derived, Axis::N).len(), 1);
        }
        let m = Measurements {
            involved_nodes: Some(1),
            node_stations: vec![Station::Larynx(Ipsi)],
            largest_node_mm: Some(25.0),
            ..Measurements::default()
        };
        assert_eq!(
            rules(&run(C::Larynx, Ajcc8, None, &m), Axis::N),
            ["N1: a single ipsilateral node <= 30 mm, ENE(-) assumed: clinically overt extranodal extension was not \
              reported (AJCC 8th, larynx)"]
        );
    }

    // ---- M -------------------------------------------------------------------------------------

    #[test]
    fn m_by_distant_site() {
        use DistantSite as D;
        type Case<'a> = (Cancer, Edition, Option<&'a [D]>, Option<u32>, Option<&'a str>);
        let cases: &[Case] = &[
            (C::Lung, Ajcc8, None, None, None),
            (C::Lung, Ajcc8, Some(&[]), None, Some("M0")),
            (C::Lung, Ajcc8, Some(&[D::MalignantPleuralEffusion]), None, Some("M1a")),
            (C::Lung, Ajcc9, Some(&[D::ContralateralLung, D::PericardialNodules]), None, Some("M1a")),
            (C::Lung, Ajcc8, Some(&[D::Brain]), Some(1), Some("M1b")),
            (C::Lung, Ajcc9, Some(&[D::DistantNodes, D::PleuralNodules]), Some(1), Some("M1b")),
            (C::Lung, Ajcc8, Some(&[D::Brain]), Some(3), Some("M1c")),
            (C::Lung, Ajcc9, Some(&[D::Brain]), Some(3), Some("M1c1")),
            (C::Lung, Ajcc8, Some(&[D::Brain, D::Bone]), None, Some("M1c")),
            (C::Lung, Ajcc9, Some(&[D::Brain, D::Bone]), Some(2), Some("M1c2")),
            (C::Lung, Ajcc9, Some(&[D::Liver]), None, None),
            (C::Colorectal, Ajcc8, Some(&[]), None, Some("M0")),
            (C::Colorectal, Ajcc8, Some(&[D::Liver]), None, Some("M1a")),
            (C::Colorectal, Ajcc8, Some(&[D::Liver, D::Lung]), None, Some("M1b")),
            (C::Colorectal, Ajcc8, Some(&[D::Peritoneum]), None, Some("M1c")),
            (C::Colorectal, Ajcc8, Some(&[D::Peritoneum, D::Liver]), None, Some("M1c")),
            (C::Kidney, Ajcc8, Some(&[D::Adrenal]), None, Some("M1")),
            (C::Breast, Ajcc8, Some(&[D::DistantNodes]), None, Some("M1")),
            (C::Larynx, Ajcc8, Some(&[D::Lung]), None, Some("M1")),
            (C::Pancreas, Ajcc8, Some(&[]), None, Some("M0")),
            (C::Pancreas, Ajcc8, None, None, None),
        ];
        for (cancer, edition, sites, lesions, expected) in cases {
            let m = Measurements {
                distant: sites.map(<[D]>::to_vec),
                extrathoracic_lesions: *lesions,
                ..Measurements::default()
            };
            assert_eq!(run(*cancer, *edition, None, &m).m, *expected, "{cancer} {edition:?} {sites:?} {lesions:?}");
        }
    }

    // ---- Nothing measured, and the JSON shapes ---------------------------------------------------

    #[test]
    fn nothing_measured_derives_nothing_and_says_why() {
        for cancer in Cancer::ALL {
            for edition in cancer.editions() {
                let derived = run(cancer, *edition, None, &Measurements::default());
                assert_eq!((derived.t, derived.n, derived.m), (None, None, None), "{cancer}");
                for axis in [Axis::T, Axis::N, Axis::M] {
                    let said = rules(&derived, axis);
                    assert_eq!(said.len(), 1, "{cancer} {axis:?}");
                    assert!(said[0].contains("not derived"), "{cancer}: {}", said[0]);
                }
            }
        }
    }

    #[test]
    fn the_json_body_parses_and_the_result_serialises() {
        let body = r#"{"cancer":"lung","edition":"ajcc9","tumor_size_mm":23,"descriptors":["visceral_pleura"],
            "involved_nodes":2,"node_stations":["subcarinal","ipsilateral_hilar"],"distant":[]}"#;
        let input: DeriveInput = serde_json::from_str(body).expect("parses");
        let request = input.parse().expect("valid");
        assert_eq!(request.cancer, C::Lung);
        assert_eq!(request.edition, Ajcc9);
        assert_eq!(request.measurements.descriptors, [Descriptor::Lung(LungDescriptor::VisceralPleura)]);
        let derived = input.derive().expect("derives");
        assert_eq!((derived.t, derived.n, derived.m), (Some("T2a"), Some("N2a"), Some("M0")));

        let json = serde_json::to_value(&derived).expect("serialises");
        assert_eq!(json["t"], "T2a");
        assert_eq!(json["n"], "N2a");
        assert_eq!(json["m"], "M0");
        assert_eq!(json["rules"][0]["category"], "t");
        assert_eq!(json["rules"][0]["rule"], "T1c: tumour > 20 mm and <= 30 mm (AJCC 9th, lung)");

        let measured = serde_json::to_value(&request.measurements).expect("serialises");
        assert_eq!(measured["descriptors"], serde_json::json!(["visceral_pleura"]));
        assert_eq!(measured["node_stations"], serde_json::json!(["subcarinal", "ipsilateral_hilar"]));
        assert_eq!(measured["distant"], serde_json::json!([]));
        assert_eq!(measured["tumor_size_mm"], 23.0);

        let default_edition: DeriveInput = serde_json::from_str(r#"{"cancer":"kidney"}"#).expect("parses");
        assert_eq!(default_edition.parse().expect("valid").edition, Ajcc8);
        assert!(serde_json::from_str::<DeriveInput>(r#"{"cancer":"lung","size":3}"#).is_err());
    }

    #[test]
    fn unknown_terms_are_refused_with_the_valid_list_and_never_echoed() {
        let cases = [
            (r#"{"cancer":"lung","descriptors":["<script>"]}"#, "descriptors", "valid: main_bronchus, visceral_pleura"),
            (r#"{"cancer":"lung","descriptors":["Diaphragm"]}"#, "descriptors", "diaphragm"),
            (r#"{"cancer":"lung","node_stations":["<script>"]}"#, "node_stations", "valid: ipsilateral_hilar"),
            (r#"{"cancer":"lung","distant":["<script>"]}"#, "distant", "valid: pleural_nodules"),
            (r#"{"cancer":"kidney","distant":["pleural_nodules"]}"#, "distant", "valid: lung, pleura"),
            (r#"{"cancer":"<script>"}"#, "cancer", "valid: lung, esophagus"),
            (r#"{"cancer":"lung","edition":"<script>"}"#, "edition", "valid: ajcc8, ajcc9"),
            (r#"{"cancer":"larynx","subsite":"<script>"}"#, "subsite", "valid: supraglottic, glottic, subglottic"),
            (
                r#"{"cancer":"larynx","subsite":"supraglottic","descriptors":["one_vocal_cord"]}"#,
                "descriptors",
                "not a descriptor of larynx (supraglottic)",
            ),
        ];
        for (body, field, expected) in cases {
            let input: DeriveInput = serde_json::from_str(body).expect("parses");
            let err = input.derive().expect_err(body);
            assert_eq!(err.field(), field, "{body}");
            let message = err.to_string();
            assert!(message.starts_with(&format!("{field}: ")), "{message}");
            assert!(message.contains(expected), "{message}");
            assert_eq!(err.said().with_field(field).en, message, "said() speaks Display's English");
            for foreign in ["<script>", "Diaphragm", "one_vocal_cord"] {
                assert!(!message.contains(foreign), "{message} echoes {foreign}");
                assert!(!err.said().zh.contains(foreign), "{} echoes {foreign}", err.said().zh);
            }
        }
    }

    #[test]
    fn terms_and_fields_of_another_cancer_are_refused() {
        let kidney_in_lung = with(None, &[KidneyDescriptor::RenalVein.into()]);
        let err = derive(C::Lung, Ajcc8, None, &kidney_in_lung).expect_err("foreign descriptor");
        assert_eq!(err.field(), "descriptors");
        assert!(err.to_string().contains("valid: main_bronchus"), "{err}");

        let station =
            Measurements { node_stations: vec![Station::Lung(LungStation::Subcarinal)], ..Measurements::default() };
        let err = derive(C::Stomach, Ajcc8, None, &station).expect_err("no stations for the stomach");
        assert_eq!(err, DeriveError::NotUsed { field: "node_stations", cancer: C::Stomach });
        assert_eq!(err.to_string(), "node_stations: not used to derive stomach categories");
        assert_eq!(err.said().zh, "不用于推导胃癌的分类");
        let err = derive(C::Breast, Ajcc8, None, &station).expect_err("lung station for the breast");
        assert!(
            err.to_string()
                .starts_with("node_stations: not a lymph node station of breast; valid: ipsilateral_axillary")
        );

        let cases = [
            ("tumor_count", Measurements { tumor_count: Some(2), ..Measurements::default() }, C::Lung),
            ("largest_node_mm", Measurements { largest_node_mm: Some(20.0), ..Measurements::default() }, C::Lung),
            (
                "extranodal_extension",
                Measurements { extranodal_extension: Some(true), ..Measurements::default() },
                C::Breast,
            ),
            (
                "extrathoracic_lesions",
                Measurements {
                    extrathoracic_lesions: Some(1),
                    distant: Some(vec![DistantSite::Bone]),
                    ..Measurements::default()
                },
                C::Kidney,
            ),
        ];
        for (field, m, cancer) in cases {
            assert_eq!(derive(cancer, Ajcc8, None, &m), Err(DeriveError::NotUsed { field, cancer }));
        }

        let err = derive(C::Lung, Ajcc8, Some(Subsite::Glottic), &Measurements::default()).expect_err("subsite");
        assert_eq!(err.field(), "subsite");
        let err = derive(C::Kidney, Ajcc9, None, &Measurements::default()).expect_err("edition");
        assert_eq!(err.to_string(), "edition: kidney is staged here in ajcc8");
        assert_eq!(err.said().zh, "此处肾癌按 ajcc8 分期");
        // Derivation needs no histology, so the esophagus derives without one.
        assert!(derive(C::Esophagus, Ajcc8, None, &Measurements::default()).is_ok());
    }

    #[test]
    fn sizes_out_of_range_are_refused_naming_the_field() {
        for bad in [-1.0, -0.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 500.01, 1e9] {
            let err = derive(C::Lung, Ajcc8, None, &sized(bad)).expect_err("bad size");
            assert_eq!(err, DeriveError::Size { field: "tumor_size_mm" }, "{bad}");
            assert_eq!(
                err.to_string(),
                "tumor_size_mm: must be a number of millimetres greater than 0 and at most 500"
            );
            assert_eq!(err.said().with_field("tumor_size_mm").en, err.to_string());
            let node = Measurements { involved_nodes: Some(1), largest_node_mm: Some(bad), ..Measurements::default() };
            let err = derive(C::Larynx, Ajcc8, None, &node).expect_err("bad node size");
            assert_eq!(err.field(), "largest_node_mm", "{bad}");
        }
        assert!(derive(C::Lung, Ajcc8, None, &sized(MAX_SIZE_MM)).is_ok());
    }

    #[test]
    fn inconsistent_counts_are_refused() {
        use DistantSite as D;
        let cases: &[(&str, Measurements)] = &[
            ("tumor_count", Measurements { tumor_count: Some(0), ..sized(10.0) }),
            ("involved_nodes", Measurements { involved_nodes: Some(0), ..lung_stations(&[LungStation::Subcarinal]) }),
            (
                "involved_nodes",
                Measurements {
                    involved_nodes: Some(1),
                    ..lung_stations(&[LungStation::Subcarinal, LungStation::IpsilateralLowerParatracheal])
                },
            ),
            ("distant", Measurements { extrathoracic_lesions: Some(1), ..Measurements::default() }),
            (
                "extrathoracic_lesions",
                Measurements {
                    extrathoracic_lesions: Some(1),
                    distant: Some(vec![D::Brain, D::Bone]),
                    ..Measurements::default()
                },
            ),
            (
                "extrathoracic_lesions",
                Measurements {
                    extrathoracic_lesions: Some(2),
                    distant: Some(vec![D::PleuralNodules]),
                    ..Measurements::default()
                },
            ),
            (
                "extrathoracic_lesions",
                Measurements {
                    extrathoracic_lesions: Some(0),
                    distant: Some(vec![D::Brain]),
                    ..Measurements::default()
                },
            ),
        ];
        for (field, m) in cases {
            let cancer = if *field == "tumor_count" { C::Liver } else { C::Lung };
            let err = derive(cancer, Ajcc8, None, m).expect_err(field);
            assert_eq!(err.field(), *field, "{m:?}");
            assert_eq!(err.said().with_field(field).en, err.to_string());
        }
        let m = Measurements { involved_nodes: Some(0), extranodal_extension: Some(true), ..Measurements::default() };
        assert_eq!(derive(C::Larynx, Ajcc8, None, &m).expect_err("ene").field(), "involved_nodes");
    }

    #[test]
    fn the_nodal_criterion_is_cited() {
        assert!(!node_involved(9.9));
        assert!(node_involved(NODE_SHORT_AXIS_MM));
        assert!(!node_involved(f64::NAN));
        assert!(NODE_SHORT_AXIS_SOURCE.contains("Schwartz LH et al."));
        assert!(NODE_SHORT_AXIS_SOURCE.contains("Eur J Cancer 2009;45:261-267"));
    }

    // ---- Vocabularies ----------------------------------------------------------------------------

    fn names_are_serde_names<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug + Copy>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        let mut seen = BTreeSet::new();
        for term in all {
            let name = as_str(*term);
            assert!(seen.insert(name), "{name} twice");
            assert_eq!(serde_json::to_value(term).expect("serialises"), serde_json::Value::from(name));
            assert_eq!(serde_json::from_value::<T>(serde_json::Value::from(name)).expect("deserialises"), *term);
            assert_eq!(parse(name), Some(*term));
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
        }
    }

    #[test]
    fn vocabulary_names_are_their_snake_case_serde_names() {
        names_are_serde_names(LungDescriptor::ALL, LungDescriptor::as_str, LungDescriptor::parse);
        names_are_serde_names(PancreasDescriptor::ALL, PancreasDescriptor::as_str, PancreasDescriptor::parse);
        names_are_serde_names(KidneyDescriptor::ALL, KidneyDescriptor::as_str, KidneyDescriptor::parse);
        names_are_serde_names(BreastDescriptor::ALL, BreastDescriptor::as_str, BreastDescriptor::parse);
        names_are_serde_names(LiverDescriptor::ALL, LiverDescriptor::as_str, LiverDescriptor::parse);
        names_are_serde_names(LarynxDescriptor::ALL, LarynxDescriptor::as_str, LarynxDescriptor::parse);
        names_are_serde_names(StomachDescriptor::ALL, StomachDescriptor::as_str, StomachDescriptor::parse);
        names_are_serde_names(ColorectalDescriptor::ALL, ColorectalDescriptor::as_str, ColorectalDescriptor::parse);
        names_are_serde_names(EsophagusDescriptor::ALL, EsophagusDescriptor::as_str, EsophagusDescriptor::parse);
        names_are_serde_names(LungStation::ALL, LungStation::as_str, LungStation::parse);
        names_are_serde_names(BreastStation::ALL, BreastStation::as_str, BreastStation::parse);
        names_are_serde_names(NeckSide::ALL, NeckSide::as_str, NeckSide::parse);
        names_are_serde_names(DistantSite::ALL, DistantSite::as_str, DistantSite::parse);
        assert_eq!(serde_json::to_value(Descriptor::from(LungDescriptor::Carina)).expect("json"), "carina");
        assert_eq!(serde_json::to_value(Axis::N).expect("json"), "n");
    }

    #[test]
    fn every_laryngeal_descriptor_belongs_to_a_subsite() {
        let used: BTreeSet<LarynxDescriptor> =
            Subsite::ALL.into_iter().flat_map(|s| LarynxDescriptor::of_subsite(s).iter().copied()).collect();
        assert_eq!(used.into_iter().collect::<Vec<_>>(), LarynxDescriptor::ALL);
    }

    #[test]
    fn every_valid_descriptor_decides_t_on_its_own() {
        for (cancer, subsite) in cancers_and_subsites() {
            for d in Descriptor::valid(cancer, subsite) {
                let mut m = with(None, &[d]);
                if cancer == C::Liver {
                    // Vascular invasion decides only with the number and size of tumours.
                    m.tumor_count = Some(1);
                    m.tumor_size_mm = Some(30.0);
                }
                let t = t_of(cancer, Ajcc8, subsite, &m);
                assert!(t.is_some(), "{cancer} {subsite:?} {d:?}");
                if cancer == C::Liver {
                    assert_ne!(t, Some("T1b"), "{d:?} changes nothing");
                }
            }
        }
    }

    // ---- Every category a derivation produces is one of its table's ---------------------------------

    fn cancers_and_subsites() -> Vec<(Cancer, Option<Subsite>)> {
        let mut all: Vec<(Cancer, Option<Subsite>)> = Cancer::ALL.into_iter().map(|c| (c, None)).collect();
        all.extend(Subsite::ALL.into_iter().map(|s| (C::Larynx, Some(s))));
        all
    }

    /// Subsets of `items` of up to `k` elements, in order.
    fn subsets<T: Copy>(items: &[T], k: usize) -> Vec<Vec<T>> {
        fn grow<T: Copy>(items: &[T], from: usize, k: usize, current: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
            out.push(current.clone());
            if current.len() == k {
                return;
            }
            for i in from..items.len() {
                current.push(items[i]);
                grow(items, i + 1, k, current, out);
                current.pop();
            }
        }
        let mut out = Vec::new();
        grow(items, 0, k, &mut Vec::new(), &mut out);
        out
    }

    const SIZES: &[Option<f64>] = &[
        None,
        Some(0.5),
        Some(1.0),
        Some(1.5),
        Some(5.0),
        Some(5.5),
        Some(9.9),
        Some(10.0),
        Some(10.1),
        Some(15.0),
        Some(20.0),
        Some(20.1),
        Some(20.6),
        Some(30.0),
        Some(30.1),
        Some(40.0),
        Some(40.1),
        Some(50.0),
        Some(50.1),
        Some(60.0),
        Some(60.1),
        Some(70.0),
        Some(70.1),
        Some(100.0),
        Some(100.1),
        Some(500.0),
    ];

    #[derive(Debug, Default, PartialEq)]
    struct Produced {
        t: BTreeSet<&'static str>,
        n: BTreeSet<&'static str>,
        m: BTreeSet<&'static str>,
    }

    /// Every category the derivation produces over a sweep of each axis's inputs.
    fn sweep(cancer: Cancer, edition: Edition, subsite: Option<Subsite>) -> Produced {
        let mut produced = Produced::default();
        let mut record = |m: &Measurements| {
            if let Ok(d) = derive(cancer, edition, subsite, m) {
                produced.t.extend(d.t);
                produced.n.extend(d.n);
                produced.m.extend(d.m);
            }
        };
        let counts: &[Option<u32>] = if cancer == C::Liver { &[None, Some(1), Some(2), Some(3)] } else { &[None] };
        for descriptors in subsets(&Descriptor::valid(cancer, subsite), 2) {
            for size in SIZES {
                for count in counts {
                    record(&Measurements { tumor_count: *count, ..with(*size, &descriptors) });
                }
            }
        }
        let larynx = cancer == C::Larynx;
        let largest: &[Option<f64>] =
            if larynx { &[None, Some(20.0), Some(30.0), Some(30.1), Some(60.0), Some(60.1)] } else { &[None] };
        let ene: &[Option<bool>] = if larynx { &[None, Some(false), Some(true)] } else { &[None] };
        for stations in subsets(&Station::valid(cancer), 3) {
            for nodes in std::iter::once(None).chain((0..=20).map(Some)) {
                for mm in largest {
                    for e in ene {
                        record(&Measurements {
                            involved_nodes: nodes,
                            node_stations: stations.clone(),
                            largest_node_mm: *mm,
                            extranodal_extension: *e,
                            ..Measurements::default()
                        });
                    }
                }
            }
        }
        let lesions: &[Option<u32>] =
            if cancer == C::Lung { &[None, Some(0), Some(1), Some(2), Some(3), Some(5)] } else { &[None] };
        record(&Measurements::default());
        for sites in subsets(&DistantSite::valid(cancer), 3) {
            for l in lesions {
                record(&Measurements {
                    distant: Some(sites.clone()),
                    extrathoracic_lesions: *l,
                    ..Measurements::default()
                });
            }
        }
        produced
    }

    fn set(items: &[&'static str]) -> BTreeSet<&'static str> {
        items.iter().copied().collect()
    }

    /// The sweep produces exactly `expected`, and each is a category of the cancer's table(s).
    fn produces_and_tables_hold(
        cancer: Cancer,
        edition: Edition,
        subsite: Option<Subsite>,
        expected: (&[&'static str], &[&'static str], &[&'static str]),
    ) {
        let produced = sweep(cancer, edition, subsite);
        assert_eq!(produced.t, set(expected.0), "T produced for {cancer} {edition:?} {subsite:?}");
        assert_eq!(produced.n, set(expected.1), "N produced for {cancer} {edition:?} {subsite:?}");
        assert_eq!(produced.m, set(expected.2), "M produced for {cancer} {edition:?} {subsite:?}");
        let histologies: &[Option<Histology>] = if cancer.needs_histology() {
            &[Some(Histology::Squamous), Some(Histology::Adenocarcinoma)]
        } else {
            &[None]
        };
        for histology in histologies {
            let table = table(cancer, edition, *histology, subsite).expect("a table");
            for (axis, produced, valid) in
                [("T", &produced.t, table.t), ("N", &produced.n, table.n), ("M", &produced.m, table.m)]
            {
                let missing: Vec<_> = produced.iter().filter(|c| !valid.contains(c)).collect();
                assert!(
                    missing.is_empty(),
                    "{cancer} {edition:?} {histology:?} {subsite:?}: {axis} {missing:?} derived, not in {valid:?}"
                );
            }
        }
    }

    const M01: &[&str] = &["M0", "M1"];

    #[test]
    fn lung_categories_derived_are_in_the_tables() {
        let t = &["T1a", "T1b", "T1c", "T2a", "T2b", "T3", "T4"];
        produces_and_tables_hold(C::Lung, Ajcc8, None, (t, &["N0", "N1", "N2", "N3"], &["M0", "M1a", "M1b", "M1c"]));
        produces_and_tables_hold(
            C::Lung,
            Ajcc9,
            None,
            (t, &["N0", "N1", "N2a", "N2b", "N3"], &["M0", "M1a", "M1b", "M1c1", "M1c2"]),
        );
    }

    #[test]
    fn larynx_categories_derived_are_in_the_tables() {
        let n = &["N0", "N1", "N2a", "N2b", "N2c", "N3a", "N3b"];
        let t = &["T1", "T2", "T3", "T4a", "T4b"];
        produces_and_tables_hold(C::Larynx, Ajcc8, Some(Subsite::Supraglottic), (t, n, M01));
        produces_and_tables_hold(C::Larynx, Ajcc8, Some(Subsite::Subglottic), (t, n, M01));
        let glottic = &["T1a", "T1b", "T2", "T3", "T4a", "T4b"];
        produces_and_tables_hold(C::Larynx, Ajcc8, Some(Subsite::Glottic), (glottic, n, M01));
        produces_and_tables_hold(C::Larynx, Ajcc8, None, (&[], n, M01));
    }

    #[test]
    fn pancreas_categories_derived_are_in_the_table() {
        let t = &["T1a", "T1b", "T1c", "T2", "T3", "T4"];
        produces_and_tables_hold(C::Pancreas, Ajcc8, None, (t, &["N0", "N1", "N2"], M01));
    }

    #[test]
    fn kidney_categories_derived_are_in_the_table() {
        let t = &["T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4"];
        produces_and_tables_hold(C::Kidney, Ajcc8, None, (t, &["N0", "N1"], M01));
    }

    #[test]
    fn breast_categories_derived_are_in_the_table() {
        let t = &["T1mi", "T1a", "T1b", "T1c", "T2", "T3", "T4a", "T4b", "T4c", "T4d"];
        let n = &["N0", "N1", "N2a", "N2b", "N3a", "N3b", "N3c"];
        produces_and_tables_hold(C::Breast, Ajcc8, None, (t, n, M01));
    }

    #[test]
    fn liver_categories_derived_are_in_the_table() {
        produces_and_tables_hold(C::Liver, Ajcc8, None, (&["T1a", "T1b", "T2", "T3", "T4"], &["N0", "N1"], M01));
    }

    #[test]
    fn stomach_categories_derived_are_in_the_table() {
        produces_and_tables_hold(C::Stomach, Ajcc8, None, (&["T4a", "T4b"], &["N0", "N1", "N2", "N3"], M01));
    }

    #[test]
    fn esophagus_categories_derived_are_in_the_tables() {
        produces_and_tables_hold(C::Esophagus, Ajcc8, None, (&["T4a", "T4b"], &["N0", "N1", "N2", "N3"], M01));
    }

    #[test]
    fn colorectal_categories_derived_are_in_the_table() {
        produces_and_tables_hold(
            C::Colorectal,
            Ajcc8,
            None,
            (&["T4a", "T4b"], &["N0", "N1a", "N1b", "N2a", "N2b"], &["M0", "M1a", "M1b", "M1c"]),
        );
    }

    // ---- Properties ------------------------------------------------------------------------------

    /// Sizes anywhere, and close around each lung cut-off.
    fn lung_size() -> impl Strategy<Value = f64> {
        prop_oneof![
            0.001f64..=MAX_SIZE_MM,
            proptest::sample::select(vec![10.0, 20.0, 30.0, 40.0, 50.0, 70.0]).prop_flat_map(|c| (c - 0.5)..=(c + 0.5)),
        ]
    }

    fn lung_rank(t: &str) -> usize {
        LUNG_T.iter().position(|c| *c == t).unwrap_or_else(|| panic!("{t} is not a lung T"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// A larger lung tumour never has a lower T, in either edition.
        #[test]
        fn lung_t_from_size_is_monotonic(a in lung_size(), b in lung_size()) {
            let (small, large) = if a <= b { (a, b) } else { (b, a) };
            for edition in [Ajcc8, Ajcc9] {
                let t = |mm: f64| derive(C::Lung, edition, None, &sized(mm)).ok().and_then(|d| d.t);
                let (ts, tl) = (t(small).expect("derived"), t(large).expect("derived"));
                prop_assert!(lung_rank(ts) <= lung_rank(tl), "{small} mm is {ts}, {large} mm is {tl}");
            }
        }

        /// Any lung measurements either are refused or derive categories of the lung table.
        #[test]
        fn lung_derivations_stay_in_the_table(
            size in proptest::option::of(lung_size()),
            descriptors in proptest::sample::subsequence(LungDescriptor::ALL.to_vec(), 0..4),
            nodes in proptest::option::of(0u32..10),
            stations in proptest::sample::subsequence(LungStation::ALL.to_vec(), 0..5),
            sites in proptest::option::of(proptest::sample::subsequence(DistantSite::valid(C::Lung), 0..4)),
            lesions in proptest::option::of(0u32..6),
        ) {
            let m = Measurements {
                tumor_size_mm: size,
                descriptors: descriptors.into_iter().map(Descriptor::Lung).collect(),
                involved_nodes: nodes,
                node_stations: stations.into_iter().map(Station::Lung).collect(),
                distant: sites,
                extrathoracic_lesions: lesions,
                ..Measurements::default()
            };
            for edition in [Ajcc8, Ajcc9] {
                let Ok(derived) = derive(C::Lung, edition, None, &m) else { continue };
                let table = table(C::Lung, edition, None, None).expect("lung table");
                prop_assert!(derived.t.is_none_or(|t| table.t.contains(&t)));
                prop_assert!(derived.n.is_none_or(|n| table.n.contains(&n)));
                prop_assert!(derived.m.is_none_or(|c| table.m.contains(&c)));
                prop_assert!(derived.rules.iter().any(|r| r.category == Axis::T));
                prop_assert!(derived.rules.iter().any(|r| r.category == Axis::N));
                prop_assert!(derived.rules.iter().any(|r| r.category == Axis::M));
            }
        }
    }
}
